"""A ticket's events replay to its stored state, and a change made behind their back shows."""

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.scheduler import sweep
from deadlines.policy import load_policy
from models import utcnow
from tests.tickets.conftest import Loop
from tickets.audit import unreplayable


def test_the_loop_replays_and_a_change_without_an_event_is_found(
    loop: Loop, engine: Engine
) -> None:
    loop.to_replied()
    loop.act("callback", loop.desk, {"satisfaction": "unsatisfied"})  # 重办
    loop.act("acknowledge", loop.market)
    sweep(engine, policy=load_policy(), now=utcnow().replace(year=2027))  # breaches
    with Session(engine) as session:
        assert unreplayable(session) == {}

        session.exec(text(f"UPDATE ticket SET status = 'closed' WHERE id = {loop.id}"))  # type: ignore[call-overload]
        session.commit()
        assert unreplayable(session) == {loop.id: {"status": ("closed", "acknowledged")}}
