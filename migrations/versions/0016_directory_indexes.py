"""directory indexes: each mentor's ratings and soonest bookable start from an index alone

Revision ID: 0016_directory_indexes
Revises: 0015_email_caps
Create Date: 2026-12-06 10:20:00

The mentor directory sorts and filters every listed mentor by the average and count of their
visible reviews and by the start of their soonest bookable session, each built with one GROUP BY
per request. ``ix_reviews_mentor_id_hidden_at_rating`` holds all the first one reads; the
sessions' ``(status, starts_at)`` index becomes ``ix_learning_sessions_bookable``, which adds
``mentor_id``, ``seats_taken`` and ``capacity`` after the same two leading columns, so the
catalog's queries keep their index and the directory's never reads the table. Downgrading
restores the two-column index and drops the reviews' one. No data changes.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_directory_indexes"
down_revision = "0015_email_caps"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.create_index("ix_reviews_mentor_id_hidden_at_rating", ["mentor_id", "hidden_at", "rating"])
    with op.batch_alter_table("learning_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_learning_sessions_bookable", ["status", "starts_at", "mentor_id", "seats_taken", "capacity"]
        )
        batch_op.drop_index("ix_learning_sessions_status_starts_at")


def downgrade():
    with op.batch_alter_table("learning_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_learning_sessions_status_starts_at", ["status", "starts_at"])
        batch_op.drop_index("ix_learning_sessions_bookable")
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_mentor_id_hidden_at_rating")
