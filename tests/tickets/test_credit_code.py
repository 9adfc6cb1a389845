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
        ("91440300708461136U", "check character"),
        ("9131000060721659", "18 characters"),
        ("91310000607216596CX", "18 characters"),
        ("9131000060721659IC", "without I, O, S, V, Z"),
        ("91AB0000607216596C", "must be digits"),
    ],
)
def test_bad_codes_say_why(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_credit_code(code)


def test_check_character_of_zeroes() -> None:
    # Sum 0 gives 31 - 0 = 31, which wraps to the character for 0.
    assert check_character("0" * 17) == "0"
