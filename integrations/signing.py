"""HMAC-SHA256 request signatures over a timestamp and the body, as the city platform signs."""

import hashlib
import hmac
import secrets

TIMESTAMP_HEADER = "X-Qisu-Timestamp"
SIGNATURE_HEADER = "X-Qisu-Signature"
NONCE_HEADER = "X-Qisu-Nonce"


class SignatureRefused(Exception):
    """Why a request's signature is not accepted: a code for programs, a reason for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def sign(secret: str, timestamp: int | str, nonce: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<nonce>.<body>`: none of the three can be changed.

    The nonce tells an honest retry (a new nonce) from a replay (the same signature again),
    even within one second.
    """
    message = f"{timestamp}.{nonce}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def headers(secret: str, timestamp: int, body: bytes, nonce: str | None = None) -> dict[str, str]:
    """The headers that carry a signed request."""
    nonce = nonce or secrets.token_hex(16)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign(secret, timestamp, nonce, body),
    }


def verify(
    secret: str,
    *,
    timestamp: str | None,
    nonce: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    window: float,
) -> int:
    """The request's timestamp when the signature holds and it is fresh; else SignatureRefused."""
    if not timestamp or not nonce or not signature:
        raise SignatureRefused(
            "unsigned",
            f"缺少签名：请求须带 {TIMESTAMP_HEADER}、{NONCE_HEADER} 与 {SIGNATURE_HEADER} 头",
        )
    if len(nonce) > 64:
        raise SignatureRefused("bad_nonce", "随机串过长（最多 64 个字符）")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise SignatureRefused("bad_timestamp", f"时间戳 {timestamp[:40]!r} 不是整数秒") from None
    if abs(now - stamp) > window:
        raise SignatureRefused(
            "stale_request", f"请求时间超出允许的 {int(window // 60)} 分钟窗口，已拒绝"
        )
    if not hmac.compare_digest(sign(secret, stamp, nonce, body), signature.strip().lower()):
        raise SignatureRefused("bad_signature", "签名校验失败：请检查密钥与签名方式")
    return stamp
