"""Screening flags from an appeal's own words."""

import pytest

from routing.screening import CANNOT_SOLVE, LEGACY, readable, text_flags


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("厂房产证办不下来，属于历史遗留问题", [LEGACY]),
        ("排水问题拖了好几年，一直没人管", [LEGACY]),
        ("这个问题十几年没有解决了", [LEGACY]),
        ("镇里说他们解决不了，要区里部门来", [CANNOT_SOLVE]),
        ("找了街道，街道说不归他们管", [CANNOT_SOLVE]),
        ("管委会说环境执法没有权限", [CANNOT_SOLVE]),
        ("多年未解决的违建，镇里说管不了", [LEGACY, CANNOT_SOLVE]),
        ("营业执照变更两周未办结", []),
        ("我们和镇里的企业合作很愉快，请问如何申报补贴", []),
    ],
)
def test_flags(text: str, flags: list[str]) -> None:
    assert text_flags(text) == flags


def test_readable_needs_some_chinese() -> None:
    assert readable("营业执照变更")
    assert not readable("Our business licence change is late, please help!!!")
    assert not readable("？？？！！！###@@@ 123")
