"""waitlist: learners in line for a full session, and the seats offered to them

Revision ID: 0022_waitlist
Revises: 0021_coupons
Create Date: 2026-12-06 22:50:00

``waitlist_entries`` holds one row per learner who joined a session's line: its status (waiting,
offered, claimed, passed, left, expired), when a seat was offered and until when it is held, and
the booking that holds it. One open (waiting or offered) entry per learner and session is a
partial unique index; one entry per booking a unique constraint. Notifications gain the kind
``waitlist_offer``. Downgrading drops the table and the kind's notifications.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_waitlist"
down_revision = "0021_coupons"
branch_labels = None
depends_on = None

_OPEN = "status IN ('waiting', 'offered')"

KINDS = (
    "booking_confirmed",
    "booking_cancelled",
    "payment_received",
    "payment_failed",
    "session_reminder",
    "session_started",
    "session_cancelled",
    "session_rescheduled",
    "refund_processed",
    "gift_received",
    "new_review",
    "new_follower",
    "mentor_published",
    "request_received",
    "request_answered",
    "payout_paid",
    "session_not_held",
    "dispute_update",
    "security",
)
NEW_KINDS = ("waitlist_offer",)


def _notification_kinds(kinds):
    condition = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in kinds))
    for table in ("notifications", "notification_preferences"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_kind_valid"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_kind_valid"), condition)


def upgrade():
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'claimed', 'passed', 'left', 'expired')",
            name=op.f("ck_waitlist_entries_status_valid"),
        ),
        sa.CheckConstraint(
            "status != 'offered' OR booking_id IS NOT NULL",
            name=op.f("ck_waitlist_entries_offer_has_booking"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_waitlist_entries_booking_id_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_learner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["learning_sessions.id"],
            name=op.f("fk_waitlist_entries_session_id_learning_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_waitlist_entries_booking_id")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_entries_session_id_status_id", ["session_id", "status", "id"], unique=False
        )
        batch_op.create_index("ix_waitlist_entries_learner_id_status", ["learner_id", "status"], unique=False)
        batch_op.create_index(
            "uq_waitlist_entries_one_open_per_learner",
            ["session_id", "learner_id"],
            unique=True,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )
    _notification_kinds(KINDS + NEW_KINDS)


def downgrade():
    op.execute(sa.text("DELETE FROM notifications WHERE kind = 'waitlist_offer'"))
    op.execute(sa.text("DELETE FROM notification_preferences WHERE kind = 'waitlist_offer'"))
    _notification_kinds(KINDS)
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index("uq_waitlist_entries_one_open_per_learner")
        batch_op.drop_index("ix_waitlist_entries_learner_id_status")
        batch_op.drop_index("ix_waitlist_entries_session_id_status_id")
    op.drop_table("waitlist_entries")
