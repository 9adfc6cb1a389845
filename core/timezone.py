"""Shanghai local time: how people in the district mean a date or a time they type."""

from datetime import datetime
from zoneinfo import ZoneInfo

from core.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) with a time lacking an offset read as Shanghai's; refused unless start < end."""
    start, end = (t if t.tzinfo else t.replace(tzinfo=SHANGHAI) for t in (start, end))
    if end <= start:
        raise InvalidInput("结束时间（to）须晚于开始时间（from）", field="to")
    return start, end
