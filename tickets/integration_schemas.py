"""Request and response shapes of the integrations' API: platform, notifications, enterprises."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from models import AppealType, Satisfaction
from tickets.schemas import CreditCode, Line, Note, Phone


class InboundAccepted(BaseModel):
    """A pushed order taken in (201) or already known (200)."""

    source: str
    external_id: str
    ticket_id: int
    created: bool
    outcome: str = Field(
        description="created, amended, withdrawn (撤单), unchanged, or stale (an older version)."
    )


class DeadLetterPublic(BaseModel):
    """An order that could not be taken in, as an administrator sees it."""

    id: int
    source: str
    external_id: str | None
    via: str
    received_at: datetime
    reason: str
    field: str | None
    state: str
    attempts: int
    ticket_id: int | None
    replayed_at: datetime | None
    payload: dict[str, Any]


class DeadLetterPage(BaseModel):
    """A page of dead letters, newest first."""

    count: int
    limit: int
    offset: int
    items: list[DeadLetterPublic]


class ReplayResult(BaseModel):
    """A dead letter taken in at last."""

    dead_letter: DeadLetterPublic
    ticket_id: int


class ChannelDeliveryPublic(BaseModel):
    """A message's delivery to one phone (sms) or mailbox (email)."""

    channel: str
    address: str
    state: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class NotificationPublic(BaseModel):
    """An outbox message: its log-and-webhook state and its deliveries to people."""

    id: int
    created_at: datetime
    recipient: str
    kind: str
    ticket_id: int | None
    text: str
    state: str
    attempts: int
    delivered_at: datetime | None
    last_error: str | None
    deliveries: list[ChannelDeliveryPublic]


class NotificationPage(BaseModel):
    """A page of messages, newest first."""

    count: int
    limit: int
    offset: int
    items: list[NotificationPublic]


class EnterpriseAppealIn(BaseModel):
    """An appeal an enterprise submits itself (no login)."""

    credit_code: CreditCode = Field(
        description="统一社会信用代码, checked with its check character."
    )
    enterprise_name: Line
    contact_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]
    contact_phone: Phone
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    appeal_type: AppealType
    title: Line | None = None
    text: Note
    submission_id: Annotated[str, StringConstraints(min_length=8, max_length=64)] | None = Field(
        default=None, description="The page's id for this submission: sent twice, taken once."
    )


class ReceiptIn(BaseModel):
    """A receipt code and the contact phone's last four digits."""

    receipt_code: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)
    ]
    phone_last4: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]


class RatingIn(ReceiptIn):
    """The enterprise's verdict on the reply."""

    satisfaction: Satisfaction
    note: Note | None = None


class ReceiptOut(BaseModel):
    """What a submission gives back."""

    receipt_code: str
    received_at: datetime
    status: str
    status_name: str
    created: bool


class DeadlineView(BaseModel):
    """One stage's time limit, as the enterprise sees it."""

    stage: str
    stage_name: str
    due_at: datetime | None
    status: str
    met_at: datetime | None


class AppealView(BaseModel):
    """An enterprise's own appeal: where it stands, its deadlines, the reply."""

    receipt_code: str
    status: str
    status_name: str
    received_at: datetime
    title: str | None
    unit: str | None
    deadlines: list[DeadlineView]
    reply: str | None
    satisfaction: str | None
    can_rate: bool


class StuckReportPublic(BaseModel):
    """A step report the platform has not taken yet."""

    id: int
    ticket_id: int
    source: str
    action: str
    action_name: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    age_seconds: int
    next_attempt_at: datetime
    held_back: int = Field(description="The ticket's later reports waiting behind this one.")


class StuckReportPage(BaseModel):
    """Undelivered reports, oldest first."""

    count: int
    limit: int
    offset: int
    items: list[StuckReportPublic]


class SkipIn(BaseModel):
    """Why an administrator gives a report up."""

    reason: Note
