"""Finding 5: the log channel writes every notification and every sweep, in Chinese."""

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from app.logs import configure_logging
from app.scheduler import sweep
from deadlines.policy import load_policy
from integrations.notifiers import LogNotifier, Message
from models import utcnow


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    yield stream
    logging.getLogger("qisu").removeHandler(handler)
    logging.getLogger("qisu").propagate = True


def test_a_logged_notification_is_written(written: io.StringIO) -> None:
    LogNotifier().send(Message("role:supervisor", "repeat", "重复诉求 #7：第 3 次反映\n首件 #2"))
    line = written.getvalue()
    assert "qisu.notify" in line and "通知 role:supervisor [repeat]：重复诉求 #7" in line
    assert "\n首件" not in line  # one line per notification


def test_every_sweep_is_written(written: io.StringIO, engine: Engine) -> None:
    sweep(engine, policy=load_policy(), now=utcnow())
    assert "期限巡检" in written.getvalue() and "超期 0 条" in written.getvalue()


def test_configuring_twice_keeps_one_handler(written: io.StringIO) -> None:
    configure_logging("INFO", stream=written)
    ours = [h for h in logging.getLogger("qisu").handlers if getattr(h, "qisu_log_channel", 0)]
    assert len(ours) == 1
