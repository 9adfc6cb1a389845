"""The GB 32100-2015 check character."""

import pytest

from tickets.credit_code import check_character, normalize_credit_code

# Published codes of well-known enterprises (their check characters are part of the record).
REAL_CODES = ["91110000802100433B", "91440300708461136T"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code: str) -> None:
    assert normalize_credit_code(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert normalize_credit_code(" 91440300708461136t ") == "91440300708461136T"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300708461136U", "校验位有误：第 18 位是 U"),
        ("9131000060721659", "应为 18 位，现在是 16 位"),
        ("91310000607216596CX", "应为 18 位，现在是 19 位"),
        ("9131000060721659IC", "不含 I、O、S、V、Z"),
        ("91AB0000607216596C", "第 3–8 位须是数字"),
    ],
)
def test_bad_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_credit_code(code)


def test_check_character_of_zeroes() -> None:
    # Sum 0 gives 31 - 0 = 31, which wraps to the character for 0.
    assert check_character("0" * 17) == "0"
