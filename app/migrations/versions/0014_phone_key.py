"""ticket.contact_phone_key: the phone as digits, for the repeat check's lookup

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from core.phones import phone_key

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5000  # rows keyed per statement: memory stays flat on a large table


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'contact_phone_key', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False,
            server_default='',
        ))
    _key_existing_phones()
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_ticket_contact_phone_key'), ['contact_phone_key'], unique=False
        )


def _key_existing_phones() -> None:
    """Key every stored phone as intake keys new ones (core.phones)."""
    bind = op.get_bind()
    ticket = sa.table('ticket', sa.column('id'), sa.column('contact_phone'),
                      sa.column('contact_phone_key'))
    update = (
        sa.update(ticket)
        .where(ticket.c.id == sa.bindparam('row_id'))
        .values(contact_phone_key=sa.bindparam('key'))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(ticket.c.id, ticket.c.contact_phone)
            .where(ticket.c.id > last).order_by(ticket.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(update, [{'row_id': i, 'key': phone_key(phone)} for i, phone in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_contact_phone_key'))
        batch_op.drop_column('contact_phone_key')
