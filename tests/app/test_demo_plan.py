"""The demo's script: what the district's last hours hold, whatever day it is loaded."""

from datetime import UTC, datetime, timedelta

import pytest

from app.demo.plan import build_script


@pytest.mark.parametrize("day", range(30))
def test_the_last_hours_hold_only_the_fresh_appeals(day: int) -> None:
    now = datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(days=day, hours=7 * day)
    script = build_script(seed=7, now=now, appeals=2000)
    recent = [a for a in script.appeals if a.at > now - timedelta(hours=2)]
    assert len(recent) == 6 and {a.kind for a in recent} == {"fresh"}
    assert all(a.at <= now for a in script.appeals)
