"""accounts: named expiring tokens, the audit log, TOTP, sign-in times, anonymised tickets

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tokens issued before names and expiries keep working for this long after the upgrade.
MIGRATED_TOKEN_DAYS = 90


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"], unique=False)
    op.create_table(
        "audit_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_audit_record_at", "audit_record", ["at"], unique=False)
    op.create_index("ix_audit_record_actor_id", "audit_record", ["actor_id"], unique=False)
    op.create_index("ix_audit_record_action", "audit_record", ["action"], unique=False)
    # Plain ADD COLUMNs: SQLite adds them in place, no rebuild of tables others reference.
    op.add_column("user", sa.Column("last_sign_in_at", sa.DateTime(timezone=True)))
    op.add_column("user", sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=64)))
    op.add_column("user", sa.Column("totp_pending", sqlmodel.sql.sqltypes.AutoString(length=64)))
    op.add_column("user", sa.Column("totp_last_step", sa.Integer()))
    op.add_column("ticket", sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    _move_tokens()


def _move_tokens() -> None:
    """Each user's one token becomes a named, expiring row; the old column is scrambled."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    expires = now + timedelta(days=MIGRATED_TOKEN_DAYS)
    users = sa.table(
        "user", sa.column("id", sa.Integer), sa.column("token_hash", sa.String)
    )
    tokens = sa.table(
        "api_token",
        sa.column("user_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("token_hash", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    sqlite = bind.dialect.name == "sqlite"
    stamp = (lambda t: t.replace(tzinfo=None)) if sqlite else (lambda t: t)  # noqa: E731
    for user_id, token_hash in bind.execute(sa.select(users.c.id, users.c.token_hash)).all():
        bind.execute(
            tokens.insert().values(
                user_id=user_id,
                name="迁移前的令牌",
                token_hash=token_hash,
                created_at=stamp(now),
                expires_at=stamp(expires),
            )
        )
        scrambled = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        bind.execute(
            users.update().where(users.c.id == user_id).values(token_hash=scrambled)
        )


def downgrade() -> None:
    op.drop_column("ticket", "anonymised_at")
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_pending")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("last_sign_in_at")
    op.drop_index("ix_audit_record_action", table_name="audit_record")
    op.drop_index("ix_audit_record_actor_id", table_name="audit_record")
    op.drop_index("ix_audit_record_at", table_name="audit_record")
    op.drop_table("audit_record")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
