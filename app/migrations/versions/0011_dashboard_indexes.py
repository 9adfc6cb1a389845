"""dashboard indexes: the month's tickets, deadlines, assignments and decisions, covered

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each chart groups one span's rows: these indexes hold every column it reads, so a month is
# an index range and never a scan of the year (bench/dashboard.py).
INDEXES = {
    'ticket': ('ix_ticket_received_cover', ['received_at', 'status', 'channel', 'lead_unit', 'subdistrict', 'repeat_of']),
    'deadline': ('ix_deadline_started_cover', ['stage', 'started_at', 'unit_code', 'status', 'ticket_id', 'whistle_id']),
    'assignment': ('ix_assignment_created_cover', ['created_at', 'role', 'unit_code', 'state', 'ticket_id']),
    'routing_decision': ('ix_routing_decision_created_cover', ['created_at', 'trigger', 'model_version', 'dispatched', 'correct']),
}


def upgrade() -> None:
    for table, (name, columns) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, (name, _columns) in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
