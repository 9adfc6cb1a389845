"""Due times on the Chinese working calendar, by example and by property."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deadlines.working_time import (
    SHANGHAI,
    Limit,
    LimitUnit,
    WorkingCalendar,
    YearSchedule,
)

CAL = WorkingCalendar()
DAYS, HOURS, CLOCK = LimitUnit.WORKING_DAYS, LimitUnit.WORKING_HOURS, LimitUnit.CLOCK_HOURS


def at(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def test_one_working_day_from_a_monday_morning() -> None:
    assert CAL.due(at(2026, 11, 2, 10), Limit(1, DAYS)).at == at(2026, 11, 3, 10)


def test_national_day_holiday_is_skipped() -> None:
    # 2026-09-30 (Wed) 16:00 + 2 working hours: 1 h that day, then 10-01..10-07 are holidays.
    due = CAL.due(at(2026, 9, 30, 16), Limit(2, HOURS))
    assert due.at == at(2026, 10, 8, 10) and not due.fallback


def test_make_up_saturday_counts() -> None:
    # 2026-10-10 is a Saturday worked in exchange (调休); Friday 10-09 17:00 + 1 h lands on it.
    assert CAL.due(at(2026, 10, 9, 17), Limit(1, HOURS)).at == at(2026, 10, 10, 10)


def test_start_outside_office_hours_counts_from_opening() -> None:
    assert CAL.due(at(2026, 11, 6, 20), Limit(3, HOURS)).at == at(2026, 11, 9, 12)


def test_clock_hours_ignore_the_calendar() -> None:
    start = at(2026, 10, 1, 8)
    assert CAL.due(start, Limit(2, CLOCK)).at == start + timedelta(hours=2)


def test_a_year_without_schedule_falls_back_and_says_so() -> None:
    due = CAL.due(at(2026, 12, 31, 16), Limit(2, HOURS))
    assert due.fallback and due.at == at(2027, 1, 1, 10)  # Friday; New Year unknown for 2027
    configured = WorkingCalendar(
        schedules={2027: YearSchedule(holidays=frozenset({date(2027, 1, 1)}))}
    )
    due = configured.due(at(2026, 12, 31, 16), Limit(2, HOURS))
    assert not due.fallback and due.at == at(2027, 1, 4, 10)


def test_bad_limits_and_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Limit(-1, DAYS)
    with pytest.raises(ValueError, match="open before"):
        WorkingCalendar(opens=time(18), closes=time(9))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.due(datetime(2026, 11, 2, 10), Limit(1, DAYS))


starts = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(UTC)
)
amounts = st.floats(min_value=0.01, max_value=30, allow_nan=False)
units = st.sampled_from([DAYS, HOURS])


@settings(max_examples=300, deadline=None)
@given(start=starts, amount=amounts, unit=units)
def test_due_is_never_before_start_and_lands_in_office_hours_of_a_workday(
    start: datetime, amount: float, unit: LimitUnit
) -> None:
    due = CAL.due(start, Limit(amount, unit)).at
    assert due > start
    assert CAL.is_workday(due.date()) == (True, False)
    assert CAL.opens < due.timetz().replace(tzinfo=None) <= CAL.closes


@settings(max_examples=300, deadline=None)
@given(start=starts, a=amounts, b=amounts, unit=units)
def test_due_is_monotonic_in_the_limit(
    start: datetime, a: float, b: float, unit: LimitUnit
) -> None:
    low, high = sorted((a, b))
    assert CAL.due(start, Limit(low, unit)).at <= CAL.due(start, Limit(high, unit)).at
