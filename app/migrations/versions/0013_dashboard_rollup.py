"""dashboard roll-up: each complete day's counts, its days, its state; ticket events by time

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dashboard_rollup',
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('unit_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'measure', 'unit_code', 'key', 'ticket_id')
    )
    op.create_table('dashboard_rollup_day',
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('rolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('dashboard_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clean_as_of', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # The roll-up's reader looks for the tickets changed since it was rolled (tickets.rollup).
    with op.batch_alter_table('ticketevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticketevent_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticketevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticketevent_at'))
    op.drop_table('dashboard_rollup_state')
    op.drop_table('dashboard_rollup_day')
    op.drop_table('dashboard_rollup')
