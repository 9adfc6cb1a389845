"""Working time on the Chinese official calendar: which days count, and when a limit falls due."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import chinese_calendar

from core.timezone import SHANGHAI

_MAX_DAYS = 3660  # no limit in the policy spans ten years; beyond that the input is wrong


class LimitUnit(StrEnum):
    """How a limit is counted."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CLOCK_HOURS = "clock_hours"


@dataclass(frozen=True)
class Limit:
    """A time limit such as 5 working days or 2 clock hours."""

    amount: float
    unit: LimitUnit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"a limit cannot be negative ({self.amount} {self.unit})")


@dataclass(frozen=True)
class YearSchedule:
    """One year's State Council schedule: holidays, and make-up working days (调休)."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Due:
    """When a limit falls due, and whether a year without a schedule was counted Monday–Friday."""

    at: datetime
    fallback: bool


@dataclass(frozen=True)
class WorkingCalendar:
    """Office hours on working days; configured years take precedence over the package."""

    opens: time = time(9, 0)
    closes: time = time(17, 0)
    schedules: Mapping[int, YearSchedule] = field(default_factory=dict)
    # Each day's answer, kept: a due time walks day by day, and the loop asks for thousands.
    _days: dict[date, tuple[bool, bool]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError(
                f"office hours must open before they close ({self.opens}–{self.closes})"
            )

    def has_schedule(self, year: int) -> bool:
        """Whether the year's holidays are known (configured or in the package)."""
        if year in self.schedules:
            return True
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """Whether the day is a working day, and whether that was guessed as Monday–Friday."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._workday(day)
        return known

    def _workday(self, day: date) -> tuple[bool, bool]:
        schedule = self.schedules.get(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True, False
            return day.weekday() < 5 and day not in schedule.holidays, False
        try:
            return bool(chinese_calendar.is_workday(day)), False
        except NotImplementedError:
            return day.weekday() < 5, True

    @property
    def hours_per_day(self) -> float:
        """Length of one working day in hours."""
        opens = datetime.combine(date.min, self.opens)
        return (datetime.combine(date.min, self.closes) - opens).total_seconds() / 3600

    def due(self, start: datetime, limit: Limit) -> Due:
        """When a limit that starts at `start` falls due (timezone-aware in, Shanghai time out)."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        start = start.astimezone(SHANGHAI)
        if limit.unit == LimitUnit.CLOCK_HOURS:
            return Due(start + timedelta(hours=limit.amount), fallback=False)
        hours = limit.amount * (self.hours_per_day if limit.unit == LimitUnit.WORKING_DAYS else 1)
        return self._add_working_time(start, timedelta(hours=hours))

    def _add_working_time(self, start: datetime, remaining: timedelta) -> Due:
        if remaining <= timedelta(0):
            return Due(start, fallback=False)
        fallback = False
        day = start.date()
        for _ in range(_MAX_DAYS):
            working, guessed = self.is_workday(day)
            if working:
                fallback = fallback or guessed
                opens = datetime.combine(day, self.opens, SHANGHAI)
                closes = datetime.combine(day, self.closes, SHANGHAI)
                begin = max(start, opens)
                if begin < closes:
                    if remaining <= closes - begin:
                        return Due(begin + remaining, fallback)
                    remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError(f"no due time within {_MAX_DAYS} days of {start}")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours on working days between two instants (0 if end is not after start)."""
        start, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        total = timedelta(0)
        day = start.date()
        while day <= end.date():
            if self.is_workday(day)[0]:
                begin = max(start, datetime.combine(day, self.opens, SHANGHAI))
                finish = min(end, datetime.combine(day, self.closes, SHANGHAI))
                total += max(finish - begin, timedelta(0))
            day += timedelta(days=1)
        return total.total_seconds() / 3600
