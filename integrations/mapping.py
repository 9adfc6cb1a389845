"""A city platform's connector file: its field names and codes mapped onto qisu's intake fields.

Checked whole when it is loaded; a wrong entry is refused with its file and line, so a bad file
stops the start instead of dead-lettering every order.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.yaml_lines import LineReader, read_yaml

# qisu's intake fields a connector maps; the optional ones may be left out.
REQUIRED_FIELDS = (
    "external_id",
    "received_at",
    "credit_code",
    "enterprise_name",
    "contact_name",
    "contact_phone",
    "address",
    "text",
    "appeal_type",
)
# order_state, revision and withdraw_reason say how an order changed since qisu took it in.
OPTIONAL_FIELDS = ("title", "urgency", "order_state", "revision", "withdraw_reason")
# What a platform's order status code means to qisu: still open, or withdrawn (撤单).
ORDER_STATES = frozenset({"open", "withdrawn"})
TOP_LEVEL = {
    "source", "name", "channel", "timezone", "time_format", "fields", "codes", "units",
    "pull", "outbound",
}  # fmt: skip
PULL_KEYS = {
    "url", "cursor_param", "limit_param", "page_size", "items", "next_cursor", "more",
    "timeout_seconds", "retries",
}  # fmt: skip
OUTBOUND_KEYS = {"url", "timeout_seconds", "steps"}


class ConnectorError(ValueError):
    """A connector file that cannot be used; the message names the file and line."""


class MappingError(ValueError):
    """An order that cannot be mapped; `reason` is for people, `field` is the platform's."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Vocabulary:
    """qisu's codes a connector may map onto (from the caller: integrations knows no models)."""

    channels: frozenset[str]
    appeal_types: frozenset[str]
    urgencies: frozenset[str]
    satisfactions: frozenset[str]
    actions: frozenset[str]


@dataclass(frozen=True)
class OrderChange:
    """An order's state and version as the platform sends it (open, unversioned by default)."""

    state: str = "open"
    revision: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PullConfig:
    """How the poller asks the platform for new and changed orders."""

    url: str
    cursor_param: str = "since"
    limit_param: str = "limit"
    page_size: int = 100
    items: str = "orders"
    next_cursor: str = "next_cursor"
    more: str = "has_more"
    timeout_seconds: float = 10.0
    retries: int = 3


@dataclass(frozen=True)
class OutboundConfig:
    """Where step reports go, and the platform's code for each qisu action."""

    url: str
    steps: dict[str, str]
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Connector:
    """One source platform: its fields, codes, units and endpoints."""

    source: str
    name: str
    channel: str
    timezone: ZoneInfo
    time_format: str
    fields: dict[str, str]
    codes: dict[str, dict[str, str]]
    units: dict[str, str]  # the platform's unit code -> qisu's registry code
    pull: PullConfig | None = None
    outbound: OutboundConfig | None = None
    origin: str = "connector"
    unit_lines: dict[str, int] = field(default_factory=dict)

    def platform_unit(self, qisu_code: str | None) -> str | None:
        """The platform's code for a qisu unit (qisu's own code when the map has none)."""
        if qisu_code is None:
            return None
        return next((p for p, q in self.units.items() if q == qisu_code), qisu_code)

    def check_units(self, registry: Collection[str]) -> None:
        """Refuse a unit map naming a unit the registry does not hold, naming its line."""
        for platform_code, qisu_code in self.units.items():
            if qisu_code not in registry:
                line = self.unit_lines.get(platform_code, 1)
                raise ConnectorError(
                    f"{self.origin}, line {line} (units.{platform_code}): "
                    f"{qisu_code!r} is not a unit of the registry"
                )

    def apply(self, order: dict[str, Any]) -> dict[str, Any]:
        """The intake body for one platform order; raises MappingError saying what is wrong."""
        if not isinstance(order, dict):
            raise MappingError("工单不是一个 JSON 对象")
        value = {name: self._value(order, name) for name in self.fields}
        received = self._instant(value["received_at"], self.fields["received_at"])
        body: dict[str, Any] = {
            "source": self.source,
            "external_id": str(value["external_id"]),
            "channel": self.channel,
            "received_at": received.isoformat(),
            "enterprise": {"credit_code": value["credit_code"], "name": value["enterprise_name"]},
            "contact": {"name": value["contact_name"], "phone": str(value["contact_phone"])},
            "address": value["address"],
            "text": value["text"],
            "appeal_type": self._code("appeal_type", value["appeal_type"]),
        }
        if value.get("title") not in (None, ""):
            body["title"] = value["title"]
        if value.get("urgency") not in (None, ""):
            body["urgency"] = self._code("urgency", value["urgency"])
        return body

    def change(self, order: dict[str, Any]) -> OrderChange:
        """The order's state (open or withdrawn) and revision; MappingError when unreadable."""
        state, revision, reason = "open", None, None
        raw_state = self._value(order, "order_state") if "order_state" in self.fields else None
        if raw_state is not None:
            state = self._code("order_state", raw_state)
        raw_revision = self._value(order, "revision") if "revision" in self.fields else None
        if raw_revision is not None:
            revision = self._instant(raw_revision, self.fields["revision"])
        if "withdraw_reason" in self.fields:
            found = self._value(order, "withdraw_reason")
            reason = None if found is None else str(found)[:1000]
        return OrderChange(state=state, revision=revision, reason=reason)

    def external_id(self, order: Any) -> str | None:
        """The order's id, if it can be read at all (for the dead letter)."""
        try:
            found = _dig(order, self.fields["external_id"])
        except MappingError:
            return None
        return None if found is None else str(found)[:128]

    def _value(self, order: dict[str, Any], name: str) -> Any:
        path = self.fields[name]
        found = _dig(order, path)
        if found is None or (isinstance(found, str) and not found.strip()):
            if name in REQUIRED_FIELDS:
                raise MappingError(f"缺少必填字段 {path}（对应 {name}）", path)
            return None
        if isinstance(found, dict | list):
            raise MappingError(f"字段 {path} 应为文字或数字", path)
        return found.strip() if isinstance(found, str) else found

    def _code(self, kind: str, raw: Any) -> str:
        table = self.codes.get(kind, {})
        mapped = table.get(str(raw))
        if mapped is None:
            known = "、".join(sorted(table)) or "（未配置）"
            path = self.fields[kind]
            raise MappingError(f"字段 {path} 的代码 {raw!r} 无法映射；可用的代码：{known}", path)
        return mapped

    def _instant(self, raw: Any, path: str) -> datetime:
        text = str(raw).strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:
                parsed = datetime.strptime(text, self.time_format)
            except ValueError:
                raise MappingError(
                    f"字段 {path} 的时间 {text!r} 无法识别（应为 {self.time_format} 或 ISO 8601）",
                    path,
                ) from None
        # The platform's local times carry no offset: they are in its timezone.
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.timezone)


def _dig(order: Any, path: str) -> Any:
    """A dotted path's value in nested objects (None when a step is missing)."""
    node = order
    for step in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


class _Reader(LineReader):
    """The connector's line reader, with the readers of its mappings, addresses and numbers."""

    error = ConnectorError

    def mapping(self, data: Any, path: tuple[Any, ...], keys: set[str] | None = None) -> dict:
        if not isinstance(data, dict):
            raise self.fail(path, "expected a mapping")
        for key in data:
            if keys is not None and key not in keys:
                raise self.fail(
                    (*path, key), f"unknown key {key!r}; expected one of {', '.join(sorted(keys))}"
                )
        return data

    def url(self, data: dict, path: tuple[Any, ...]) -> str:
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise self.fail((*path, "url"), "url must be an http(s):// address")
        return url

    def number(self, data: dict, key: str, path: tuple[Any, ...], default: float) -> float:
        raw = data.get(key, default)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
            raise self.fail((*path, key), f"{key} must be a positive number; got {raw!r}")
        return float(raw)


def parse_connector(text: str, *, vocabulary: Vocabulary, origin: str = "connector") -> Connector:
    """Check a connector document and build it; raises ConnectorError naming the wrong line."""
    data, reader = read_yaml(text, origin, _Reader)
    data = reader.mapping(data, (), TOP_LEVEL)
    source = data.get("source")
    if not isinstance(source, str) or not source.replace("-", "").replace("_", "").isalnum():
        raise reader.fail(("source",), "source is a name of letters, digits, - and _")
    channel = str(data.get("channel", "hotline"))
    if channel not in vocabulary.channels:
        raise reader.fail(
            ("channel",), f"channel is one of {', '.join(sorted(vocabulary.channels))}"
        )
    try:
        zone = ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (ZoneInfoNotFoundError, ValueError):
        raise reader.fail(("timezone",), f"unknown timezone {data.get('timezone')!r}") from None
    fields_raw = reader.mapping(
        data.get("fields"), ("fields",), {*REQUIRED_FIELDS, *OPTIONAL_FIELDS}
    )
    missing = [name for name in REQUIRED_FIELDS if name not in fields_raw]
    if missing:
        raise reader.fail(("fields",), f"no platform field given for {', '.join(missing)}")
    fields = {}
    for name, path in fields_raw.items():
        if not isinstance(path, str) or not path:
            raise reader.fail(
                ("fields", name), "a field is the platform's field name (a.b for nested)"
            )
        fields[name] = path
    codes_raw = reader.mapping(
        data.get("codes") or {},
        ("codes",),
        {"appeal_type", "urgency", "satisfaction", "order_state"},
    )
    allowed = {
        "appeal_type": vocabulary.appeal_types,
        "urgency": vocabulary.urgencies,
        "satisfaction": vocabulary.satisfactions,
        "order_state": ORDER_STATES,
    }
    codes: dict[str, dict[str, str]] = {}
    for kind, table in codes_raw.items():
        reader.mapping(table, ("codes", kind))
        for platform_code, qisu_code in table.items():
            # satisfaction maps the other way: qisu's verdict -> the platform's code.
            ours = platform_code if kind == "satisfaction" else qisu_code
            if str(ours) not in allowed[kind]:
                raise reader.fail(
                    ("codes", kind, platform_code),
                    f"{ours!r} is not a qisu {kind}; "
                    f"expected one of {', '.join(sorted(allowed[kind]))}",
                )
        codes[kind] = {str(k): str(v) for k, v in table.items()}
    for kind in ("appeal_type", "urgency", "order_state"):
        if kind in fields and not codes.get(kind):
            raise reader.fail(("codes",), f"the field {kind} is mapped but codes.{kind} is empty")
    units_raw = reader.mapping(data.get("units") or {}, ("units",))
    units = {str(k): str(v) for k, v in units_raw.items()}
    pull = None
    if data.get("pull") is not None:
        raw = reader.mapping(data["pull"], ("pull",), PULL_KEYS)
        pull = PullConfig(
            url=reader.url(raw, ("pull",)),
            cursor_param=str(raw.get("cursor_param", "since")),
            limit_param=str(raw.get("limit_param", "limit")),
            page_size=int(reader.number(raw, "page_size", ("pull",), 100)),
            items=str(raw.get("items", "orders")),
            next_cursor=str(raw.get("next_cursor", "next_cursor")),
            more=str(raw.get("more", "has_more")),
            timeout_seconds=reader.number(raw, "timeout_seconds", ("pull",), 10),
            retries=int(reader.number(raw, "retries", ("pull",), 3)),
        )
    outbound = None
    if data.get("outbound") is not None:
        raw = reader.mapping(data["outbound"], ("outbound",), OUTBOUND_KEYS)
        steps = reader.mapping(raw.get("steps"), ("outbound", "steps"), set(vocabulary.actions))
        if not steps:
            raise reader.fail(
                ("outbound", "steps"), "name the platform's code for at least one step"
            )
        outbound = OutboundConfig(
            url=reader.url(raw, ("outbound",)),
            steps={str(k): str(v) for k, v in steps.items()},
            timeout_seconds=reader.number(raw, "timeout_seconds", ("outbound",), 10),
        )
    return Connector(
        source=source,
        name=str(data.get("name", source)),
        channel=channel,
        timezone=zone,
        time_format=str(data.get("time_format", "%Y-%m-%d %H:%M:%S")),
        fields=fields,
        codes=codes,
        units=units,
        pull=pull,
        outbound=outbound,
        origin=origin,
        unit_lines={str(k): reader.lines.get(("units", k), 1) for k in units_raw},
    )


def load_connector(path: Path, *, vocabulary: Vocabulary) -> Connector:
    """Read and check one connector file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConnectorError(f"{path}: cannot read the connector ({exc.strerror})") from None
    return parse_connector(text, vocabulary=vocabulary, origin=str(path))
