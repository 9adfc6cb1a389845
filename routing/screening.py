"""Item 52's screening (甄别) flags that the words of an appeal raise on their own."""

import re

REPEAT = "repeat"  # the same matter raised before (found by repeats.py)
RETURNED = "returned"  # a 街镇 returned it as not its authority
LEGACY = "legacy"  # 历史遗留
CANNOT_SOLVE = "cannot_solve"  # a 街镇 declared it cannot solve it

# Phrases that mark a legacy problem or a 街镇 that has given up; whitespace is ignored.
_LEGACY = re.compile(
    r"历史遗留|遗留问题|多年未(解决|办结|处理)|多年没(有)?(解决|处理)|拖了(好|十|二十)?[几多]?年"
    r"|(几|好几|十几|多)年(了)?(都|一直|还是)?没(有)?(解决|人管|办下来)|长期(未|得不到)解决|老大难"
)
_CANNOT_SOLVE = re.compile(
    r"(街镇|街道|镇里|镇政府|镇上|管委会|属地|村委|居委)[^。，,；;]{0,12}"
    r"(解决不了|无法解决|没法解决|无权|没有权限|不归[他她它]?们?管|管不了|处理不了|说不归|说没办法)"
)
# Chinese characters: an appeal with fewer than two is not one routing can read.
_HAN = re.compile(r"[\u4e00-\u9fff]")


def text_flags(text: str) -> list[str]:
    """The screening flags the appeal's own words raise."""
    compact = re.sub(r"\s+", "", text)
    flags = []
    if _LEGACY.search(compact):
        flags.append(LEGACY)
    if _CANNOT_SOLVE.search(compact):
        flags.append(CANNOT_SOLVE)
    return flags


def readable(text: str) -> bool:
    """Whether the text holds enough Chinese for the classifier to read."""
    return len(_HAN.findall(text)) >= 4
