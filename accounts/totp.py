"""RFC 6238 one-time passwords (HMAC-SHA1, 30 s steps, 6 digits), as authenticator apps use."""

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
# A code of the previous or next step is accepted too: phones' clocks drift.
DRIFT_STEPS = 1
ISSUER = "qisu"


def new_secret() -> str:
    """A random 160-bit secret in base32, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def hotp(secret: str, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226's code for one counter value."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def step(at: datetime) -> int:
    """The 30-second time step an instant falls in."""
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at `at`."""
    return hotp(secret, step(at))


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code this is (within the allowed drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step(at)
    for candidate in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(secret, candidate), code):
            return candidate
    return None


def provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// URI a QR code carries to an authenticator app."""
    label = quote(f"{ISSUER}:{login}")
    return f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&digits={DIGITS}&period={STEP_SECONDS}"
