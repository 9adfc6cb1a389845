"""Learning from a return (退单): the units a 街镇's reason names, by name, short name or alias."""

import re

from sqlmodel import Session, col, select

from models import AUTHORITY_HOLDERS, Unit

# A name right after these is what the matter is not ("不属于税务部门"), not where it belongs.
_DENIED = re.compile(r"(不属于|不归|并非|不是|非)$")


def names_of(unit: Unit) -> set[str]:
    """Every name a reason may call a unit by: full, short (with and without 区), aliases."""
    names = {unit.name, unit.short_name, *(unit.aliases or [])}
    names |= {name.removeprefix("区") for name in names if name.startswith("区")}
    return {name for name in names if len(name) >= 2}


def named_units(session: Session, *, reason: str) -> list[str]:
    """Codes of the line units, utilities and coordinators the reason names, in order."""
    query = select(Unit).where(col(Unit.kind).in_(AUTHORITY_HOLDERS), col(Unit.active).is_(True))
    names = sorted(
        ((name, unit.code) for unit in session.exec(query) for name in names_of(unit)),
        key=lambda pair: -len(pair[0]),
    )
    text = re.sub(r"\s+", "", reason)
    taken = [False] * len(text)
    found: list[tuple[int, str]] = []
    for name, code in names:  # longest first, so 城管执法局 is not read as 城管 and 执法局
        for match in re.finditer(re.escape(name), text):
            start, end = match.span()
            if any(taken[start:end]):
                continue
            taken[start:end] = [True] * (end - start)
            if not _DENIED.search(text[max(0, start - 3) : start]):
                found.append((start, code))
    return list(dict.fromkeys(code for _, code in sorted(found)))
