"""Migration 0014 keys the phones already stored, so the repeat check finds their tickets."""

from sqlalchemy import text
from sqlmodel import Session, col, select

from app.migrate import upgrade
from core.db import make_engine, session_scope
from models import Ticket
from tests.conftest import credit_code

_TICKET = (
    "INSERT INTO ticket (source, external_id, channel, received_at, created_at, updated_at, "
    "enterprise_code, contact_name, contact_phone, text, address, appeal_type, urgency, "
    "status, repeat_count, escalation_level, reopen_count, return_count, extension_days, "
    "version) VALUES ('12345', :external, 'hotline', "
    "'2026-11-02 09:30:00+00', '2026-11-02 09:30:00+00', '2026-11-02 09:30:00+00', :code, "
    "'李女士', :phone, '执照变更', '嘉定区墨玉路185号', 'complaint', 'normal', 'received', "
    "0, 0, 0, 0, 0, 1)"
)


def test_the_phones_stored_before_0014_are_keyed(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine, "0013")
    with session_scope(engine, write=True) as session:
        session.execute(
            text("INSERT INTO enterprise (credit_code, name, created_at, updated_at) "
                 "VALUES (:code, '上海测试企业', '2026-01-01 00:00:00+00', "
                 "'2026-01-01 00:00:00+00')"),
            {"code": credit_code(1)},
        )  # fmt: skip
        for n, phone in enumerate(("+86 139-0000-1234", "139****1234")):
            session.execute(
                text(_TICKET), {"external": f"JD-{n}", "code": credit_code(1), "phone": phone}
            )
    upgrade(engine)
    with Session(engine) as session:
        keys = session.exec(select(Ticket.contact_phone_key).order_by(col(Ticket.id))).all()
    assert keys == ["13900001234", ""]
    engine.dispose()
