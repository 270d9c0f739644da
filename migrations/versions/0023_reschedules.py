"""reschedules: a learner moves their booking to another session of the same mentor

Revision ID: 0023_reschedules
Revises: 0022_waitlist
Create Date: 2026-12-06 23:30:00

``bookings`` gains ``moved_at`` (when the learner last moved the seat to another session) and
``calendar_sequence_offset``: added to the session's ``schedule_version`` to give the booking's
calendar SEQUENCE, so a move always outranks the entry a calendar app already has, whatever the
new session's own version is. Downgrading drops both columns.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_reschedules"
down_revision = "0022_waitlist"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("moved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("calendar_sequence_offset", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("calendar_sequence_offset")
        batch.drop_column("moved_at")
