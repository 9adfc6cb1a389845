"""repeat links, repeat scores on decisions, unit aliases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('repeat_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('earlier_id', sa.Integer(), nullable=False),
    sa.Column('linked', sa.Boolean(), nullable=False),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('system_root', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['earlier_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['root_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['system_root'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('repeat_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repeat_link_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repeat_link_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_scores', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('repeat_method', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('aliases')
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.drop_column('repeat_method')
        batch_op.drop_column('repeat_scores')
    with op.batch_alter_table('repeat_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repeat_link_created_at'))
        batch_op.drop_index(batch_op.f('ix_repeat_link_ticket_id'))
    op.drop_table('repeat_link')
