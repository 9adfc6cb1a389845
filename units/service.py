"""Loading and reading the unit registry."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError
from sqlalchemy import event
from sqlmodel import Session, col, select

from core.errors import InvalidInput
from models import Unit, UnitKind
from units.schemas import RegistryFile

DEFAULT_REGISTRY = Path(__file__).parent / "data" / "jiading.yaml"
_KEPT = "qisu.units"  # session.info: the units a session loaded, and what it derived from them
T = TypeVar("T")


@event.listens_for(Unit, "load")
def _keep(unit: Unit, context: Any) -> None:
    """A session keeps the units it loaded: its identity map then answers `session.get(Unit,
    code)` without a statement (it holds only what someone references). Routing, dispatch and
    the loop's guards look the same few units up again and again, and the registry changes only
    through `_apply`, in a session of its own."""
    context.session.info.setdefault(_KEPT, {})[unit.code] = unit


def per_session(session: Session, key: str, compute: Callable[[], T]) -> T:
    """What `compute` derives from the registry, once per session (dropped when it changes)."""
    kept = session.info.setdefault(_KEPT, {})
    name = f"derived:{key}"
    if name not in kept:
        kept[name] = compute()
    return kept[name]


def read_registry(path: Path) -> RegistryFile:
    """Parse and validate a registry file, saying which entry is wrong if one is."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput(f"无法读取单位名录 {path}：{exc}") from exc
    try:
        return RegistryFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"单位名录 {path} 有误：{where}：{first['msg']}") from exc


def load_registry(session: Session, *, path: Path = DEFAULT_REGISTRY) -> int:
    """Make the file the registry: upsert its units and deactivate the ones it leaves out."""
    return _apply(session, read_registry(path))


def _apply(session: Session, registry: RegistryFile) -> int:
    """Upsert the registry's units and retire the ones it leaves out; how many it names."""
    session.info.pop(_KEPT, None)
    existing = {unit.code: unit for unit in session.exec(select(Unit))}
    for item in registry.units:
        unit = existing.pop(item.code, None) or Unit(
            code=item.code, name=item.name, short_name=item.name, kind=item.kind
        )
        unit.name, unit.kind, unit.duties = item.name, item.kind, item.duties
        unit.aliases = item.aliases
        unit.short_name = item.short_name or item.name
        unit.active = True
        session.add(unit)
    # Units that tickets or users refer to cannot be deleted, only retired.
    for unit in existing.values():
        unit.active = False
        session.add(unit)
    session.flush()
    return len(registry.units)


def registry_is_empty(session: Session) -> bool:
    """Whether no unit has been loaded yet."""
    return session.exec(select(Unit.code).limit(1)).first() is None


def list_units(
    session: Session, *, kind: UnitKind | None = None, include_inactive: bool = False
) -> list[Unit]:
    """Units in registry order of kind, then code."""
    query = select(Unit).order_by(col(Unit.kind), col(Unit.code))
    if kind is not None:
        query = query.where(Unit.kind == kind)
    if not include_inactive:
        query = query.where(col(Unit.active).is_(True))
    return list(session.exec(query))


def active_unit(session: Session, *, code: str, field: str) -> Unit:
    """The active unit with this code, or a 422 naming the field that gave it."""
    unit = session.get(Unit, code)
    if unit is None or not unit.active:
        raise InvalidInput("没有该代码的在用单位，请从单位列表中选择", field=field)
    return unit


def load_registry_text(session: Session, *, text: str) -> int:
    """Load a registry given as YAML text (an administrator's upload), checked like a file."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"单位名录不是有效的 YAML：{exc}", field="yaml") from exc
    try:
        registry = RegistryFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"单位名录有误：{where}：{first['msg']}", field="yaml") from exc
    return _apply(session, registry)
