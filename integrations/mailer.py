"""E-mail over SMTP (smtplib): one digest message to one mailbox."""

import smtplib
from email.message import EmailMessage

from integrations.notifiers import DeliveryError, Message
from integrations.settings import IntegrationSettings

SUBJECTS = {
    "deadline_warned": "【企诉】即将到期提醒",
    "deadline_breached": "【企诉】超时督办",
}


class Mailer:
    """Sends a notification as a plain-text UTF-8 e-mail; SMTP failures raise DeliveryError."""

    def __init__(self, settings: IntegrationSettings, *, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def compose(self, address: str, message: Message) -> EmailMessage:
        """The e-mail for one mailbox."""
        mail = EmailMessage()
        mail["From"] = self.settings.smtp_sender
        mail["To"] = address
        mail["Subject"] = SUBJECTS.get(message.kind, f"【企诉】{message.kind}")
        mail.set_content(message.text)
        return mail

    def send(self, address: str, message: Message) -> None:
        """Hand the e-mail to the SMTP server."""
        settings = self.settings
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=self.timeout) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                smtp.send_message(self.compose(address, message))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from None
