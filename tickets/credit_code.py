"""The unified social credit code (统一社会信用代码) and its GB 32100-2015 check character."""

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"^[{ALPHABET}]{{2}}\d{{6}}[{ALPHABET}]{{10}}$")


def check_character(first17: str) -> str:
    """The 18th character that GB 32100-2015 derives from the first 17."""
    total = sum(
        ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True)
    )
    return ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str:
    """The code in canonical form, or ValueError saying what is wrong with it."""
    code = raw.strip().upper()
    if len(code) != 18:
        raise ValueError(f"a unified social credit code has 18 characters, not {len(code)}")
    if not _SHAPE.match(code):
        raise ValueError(
            "characters 1-2 and 9-18 must come from 0-9 and A-Y without I, O, S, V, Z, "
            "and characters 3-8 must be digits (the administrative division code)"
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValueError(f"the check character does not match; the first 17 give {expected}")
    return code
