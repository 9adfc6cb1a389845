"""A phone number's key: the same number however it was written, for looking tickets up."""

import re

_NOT_DIGIT = re.compile(r"\D")
_COUNTRY = ("0086", "86")  # China's code as dialled from abroad or written before a number
_SHORTEST = 7  # fewer digits than a local landline cannot tell one caller from another


def phone_key(phone: str | None) -> str:
    """The number's digits as dialled within China: "+86 139-0000-1234", "139 0000 1234" and
    "13900001234" share one key, as do "+86 21 5999 1234" and "021-59991234" (a landline's
    trunk 0 dropped); "" for a masked or too short number, which must match nothing."""
    if not phone or "*" in phone:
        return ""
    digits = _NOT_DIGIT.sub("", phone)
    for prefix in _COUNTRY:
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 10:
            digits = digits[len(prefix) :]
            break
    if digits.startswith("0") and len(digits) >= 9:
        digits = digits[1:]
    return digits if len(digits) >= _SHORTEST else ""
