"""The deadline policy: limits per stage, appeal type and urgency, escalation, calendar, webhooks.

Loaded from YAML and checked whole at start; a wrong entry is refused with its line number.
"""

from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from core.yaml_lines import LineReader, read_yaml
from deadlines.working_time import Limit, LimitUnit, WorkingCalendar, YearSchedule
from models import AppealType, Stage, Urgency

DEFAULT_POLICY = Path(__file__).parent / "data" / "sla-policy.yaml"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class EscalationLevel:
    """One step of 督办 and who hears of it ("unit" is the responsible unit)."""

    level: int
    name: str
    notify: str


@dataclass(frozen=True)
class SlaPolicy:
    """Everything the deadline engine needs to know."""

    limits: dict[str, dict[Stage, Limit]]
    calendar: WorkingCalendar
    warn_at: float = 0.8
    escalation: tuple[EscalationLevel, ...] = ()
    webhooks: dict[str, str] = field(default_factory=dict)
    # Who reads a recipient's messages by SMS and e-mail: {"role:supervisor": {"sms": (...)}}.
    recipients: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def limit(
        self,
        stage: Stage,
        *,
        appeal_type: AppealType | None = None,
        urgency: Urgency = Urgency.NORMAL,
    ) -> Limit:
        """The limit for a stage: urgent overrides the appeal type, which overrides the default."""
        for key in (
            urgency.value if urgency == Urgency.URGENT else None,
            appeal_type.value if appeal_type else None,
        ):
            if key and stage in self.limits.get(key, {}):
                return self.limits[key][stage]
        return self.limits["default"][stage]

    @property
    def top_level(self) -> int:
        """The highest escalation level."""
        return max((e.level for e in self.escalation), default=0)

    def escalation_level(self, level: int) -> EscalationLevel | None:
        """The configured level, if there is one."""
        return next((e for e in self.escalation if e.level == level), None)


class _Reader(LineReader):
    """The policy's line reader, with the readers of its limits, times and dates."""

    error = PolicyError

    def limit(self, raw: Any, path: tuple[Any, ...]) -> Limit:
        parts = str(raw).split()
        units = ", ".join(u.value for u in LimitUnit)
        if len(parts) != 2 or parts[1] not in {u.value for u in LimitUnit}:
            raise self.fail(
                path, f"a limit is '<amount> <unit>' with unit one of {units}; got {raw!r}"
            )
        try:
            amount = float(parts[0])
        except ValueError:
            raise self.fail(path, f"{parts[0]!r} is not a number") from None
        if amount < 0:
            raise self.fail(path, f"a limit cannot be negative ({raw})")
        return Limit(amount, LimitUnit(parts[1]))

    def time(self, raw: Any, path: tuple[Any, ...]) -> time:
        try:
            return time.fromisoformat(str(raw))
        except ValueError:
            raise self.fail(path, f"{raw!r} is not a time like 09:00") from None

    def dates(self, raw: Any, path: tuple[Any, ...]) -> frozenset[date]:
        if not isinstance(raw, list) or not all(isinstance(d, date) for d in raw):
            raise self.fail(path, "expected a list of dates like [2027-01-01, 2027-02-07]")
        return frozenset(raw)


def parse_policy(text: str, source: str = "policy") -> SlaPolicy:
    """Check a policy document and build it; raises PolicyError naming the wrong line."""
    data, reader = read_yaml(text, source, _Reader)
    data = data or {}
    if not isinstance(data, dict):
        raise reader.fail((), "expected a mapping at the top level")
    known = {
        "office_hours", "warn_at", "limits", "escalation", "calendar", "webhooks", "recipients",
    }  # fmt: skip
    for key in data:
        if key not in known:
            raise reader.fail(
                (key,), f"unknown setting {key!r}; expected one of {', '.join(sorted(known))}"
            )
    limits_raw = data.get("limits") or {}
    groups = {"default", Urgency.URGENT.value, *(a.value for a in AppealType)}
    stages = {s.value for s in Stage}
    limits: dict[str, dict[Stage, Limit]] = {}
    for group, entries in limits_raw.items():
        if group not in groups:
            raise reader.fail(
                ("limits", group),
                f"unknown group {group!r}; expected one of {', '.join(sorted(groups))}",
            )
        if not isinstance(entries, dict):
            raise reader.fail(("limits", group), "expected stage: limit entries")
        for stage, raw in entries.items():
            if stage not in stages:
                raise reader.fail(
                    ("limits", group, stage),
                    f"unknown stage {stage!r}; expected one of {', '.join(sorted(stages))}",
                )
            limits.setdefault(group, {})[Stage(stage)] = reader.limit(raw, ("limits", group, stage))
    missing = stages - {s.value for s in limits.get("default", {})}
    if missing:
        raise reader.fail(
            ("limits", "default"), f"the default has no limit for {', '.join(sorted(missing))}"
        )
    hours = data.get("office_hours") or {}
    opens = reader.time(hours.get("opens", "09:00"), ("office_hours", "opens"))
    closes = reader.time(hours.get("closes", "17:00"), ("office_hours", "closes"))
    schedules = {}
    for year, entry in (data.get("calendar") or {}).items():
        if not isinstance(year, int) or not isinstance(entry, dict):
            raise reader.fail(
                ("calendar", year), "expected <year>: {holidays: [...], workdays: [...]}"
            )
        schedules[year] = YearSchedule(
            holidays=reader.dates(entry.get("holidays", []), ("calendar", year, "holidays")),
            workdays=reader.dates(entry.get("workdays", []), ("calendar", year, "workdays")),
        )
    try:
        calendar = WorkingCalendar(opens=opens, closes=closes, schedules=schedules)
    except ValueError as exc:
        raise reader.fail(("office_hours",), str(exc)) from None
    warn_at = data.get("warn_at", 0.8)
    if not isinstance(warn_at, int | float) or not 0 < warn_at < 1:
        raise reader.fail(("warn_at",), f"warn_at is a fraction between 0 and 1; got {warn_at!r}")
    escalation = []
    for i, entry in enumerate(data.get("escalation") or []):
        if not isinstance(entry, dict) or not {"level", "name", "notify"} <= set(entry):
            raise reader.fail(("escalation", i), "each level needs level, name and notify")
        if entry["level"] != i + 1:
            raise reader.fail(
                ("escalation", i, "level"), f"levels count up from 1; expected {i + 1}"
            )
        notify = str(entry["notify"])
        if notify != "unit" and not notify.startswith(("unit:", "role:")):
            raise reader.fail(
                ("escalation", i, "notify"), "notify is 'unit', 'unit:<code>' or 'role:<role>'"
            )
        escalation.append(
            EscalationLevel(level=entry["level"], name=str(entry["name"]), notify=notify)
        )
    webhooks = {str(k): str(v) for k, v in (data.get("webhooks") or {}).items()}
    for recipient, url in webhooks.items():
        if not recipient.startswith(("unit:", "role:")) or not url.startswith(
            ("http://", "https://")
        ):
            raise reader.fail(
                ("webhooks", recipient), "expected unit:<code> or role:<role>: http(s)://…"
            )
    recipients = _recipients(reader, data.get("recipients") or {})
    return SlaPolicy(
        recipients=recipients,
        limits=limits,
        calendar=calendar,
        warn_at=float(warn_at),
        escalation=tuple(escalation),
        webhooks=webhooks,
    )


def _recipients(reader: _Reader, raw: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    """Phones and mailboxes per recipient: {unit:<code>|role:<role>: {sms: [...], email: [...]}}."""
    if not isinstance(raw, dict):
        raise reader.fail(("recipients",), "expected recipient: {sms: [...], email: [...]}")
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for recipient, channels in raw.items():
        path = ("recipients", recipient)
        if not str(recipient).startswith(("unit:", "role:")) or not isinstance(channels, dict):
            raise reader.fail(
                path, "expected unit:<code> or role:<role>: {sms: [...], email: [...]}"
            )
        for channel, addresses in channels.items():
            if channel not in ("sms", "email"):
                raise reader.fail(
                    (*path, channel), f"unknown channel {channel!r}; use sms or email"
                )
            if not isinstance(addresses, list) or not addresses:
                raise reader.fail((*path, channel), "expected a list of addresses")
            for address in addresses:
                text = str(address)
                ok = "@" in text if channel == "email" else text.lstrip("+").isdigit()
                if not ok:
                    raise reader.fail((*path, channel), f"{text!r} is not an {channel} address")
            found.setdefault(str(recipient), {})[channel] = tuple(str(a) for a in addresses)
    return found


def load_policy(path: Path | None = None) -> SlaPolicy:
    """Read the policy file (the shipped Jiading defaults when none is given)."""
    path = path or DEFAULT_POLICY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy ({exc.strerror})") from None
    return parse_policy(text, str(path))


def app_policy(request: Request) -> SlaPolicy:
    """The policy the app loaded at its start (Settings.sla_policy)."""
    policy: SlaPolicy = request.app.state.policy
    return policy


PolicyDep = Annotated[SlaPolicy, Depends(app_policy)]
