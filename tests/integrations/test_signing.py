"""Signatures over timestamp, nonce and body; the time window."""

import hashlib
import hmac

import pytest

from integrations import signing

BODY = b'{"gdbh": "SH1"}'


def test_a_signed_request_verifies_and_gives_its_timestamp() -> None:
    headers = signing.headers("k", 1_000_000, BODY, nonce="n1")
    stamp = signing.verify(
        "k",
        timestamp=headers[signing.TIMESTAMP_HEADER],
        nonce=headers[signing.NONCE_HEADER],
        signature=headers[signing.SIGNATURE_HEADER],
        body=BODY,
        now=1_000_299,
        window=300,
    )
    assert stamp == 1_000_000
    # The scheme a platform implements: HMAC-SHA256 of "<timestamp>.<nonce>.<body>", hex.
    expected = hmac.new(b"k", b"1000000.n1." + BODY, hashlib.sha256).hexdigest()
    assert headers[signing.SIGNATURE_HEADER] == expected


@pytest.mark.parametrize(
    ("secret", "now", "body", "code"),
    [
        ("other", 1_000_000, BODY, "bad_signature"),
        ("k", 1_000_301, BODY, "stale_request"),
        ("k", 999_699, BODY, "stale_request"),
        ("k", 1_000_000, BODY + b" ", "bad_signature"),
    ],
)
def test_refusals(secret: str, now: int, body: bytes, code: str) -> None:
    headers = signing.headers("k", 1_000_000, BODY, nonce="n1")
    with pytest.raises(signing.SignatureRefused) as caught:
        signing.verify(
            secret,
            timestamp=headers[signing.TIMESTAMP_HEADER],
            nonce=headers[signing.NONCE_HEADER],
            signature=headers[signing.SIGNATURE_HEADER],
            body=body,
            now=now,
            window=300,
        )
    assert caught.value.code == code


def test_a_bad_timestamp_or_missing_header_is_refused() -> None:
    with pytest.raises(signing.SignatureRefused, match="不是整数秒"):
        signing.verify("k", timestamp="soon", nonce="n", signature="x", body=b"", now=0, window=300)
    with pytest.raises(signing.SignatureRefused) as caught:
        signing.verify("k", timestamp="1", nonce=None, signature="x", body=b"", now=1, window=300)
    assert caught.value.code == "unsigned"
