"""Migration 0010 moves each user's token into `api_token`: it keeps working, named, expiring."""

import hashlib
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session, select

from accounts import tokens
from app.migrate import upgrade
from core.db import make_engine, session_scope
from models import ApiToken, User, utcnow


def test_an_old_token_keeps_working_after_the_upgrade(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine, "0009")
    old = "a-token-from-before-0010"
    with session_scope(engine, write=True) as session:
        session.execute(
            text(
                'INSERT INTO "user" (name, role, token_hash, active, created_at) '
                "VALUES ('旧用户', 'operator', :hash, true, '2026-01-01 00:00:00+00')"
            ),
            {"hash": hashlib.sha256(old.encode()).hexdigest()},
        )
    upgrade(engine)
    with Session(engine) as session:
        user = tokens.user_for_token(session, token=old)
        assert user is not None and user.name == "旧用户"
        row = session.exec(select(ApiToken)).one()
        assert row.name == "迁移前的令牌" and row.revoked_at is None
        assert timedelta(days=89) < row.expires_at - utcnow() <= timedelta(days=90)
        stored = session.exec(select(User)).one()
        assert stored.token_hash != row.token_hash  # the legacy column no longer opens anything
    engine.dispose()
