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
        raise ValueError(f"统一社会信用代码应为 18 位，现在是 {len(code)} 位，请核对")
    if not _SHAPE.match(code):
        raise ValueError(
            "统一社会信用代码第 1–2 位和第 9–18 位只能是数字或大写字母（不含 I、O、S、V、Z），"
            "第 3–8 位须是数字（行政区划代码），请核对"
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        # The one character it names is the caller's own, read back so it can be corrected.
        raise ValueError(
            f"统一社会信用代码校验位有误：第 18 位是 {code[17]}，按前 17 位应为 {expected}，请核对"
        )
    return code
