"""recordings: a session's recording setting, its recording and each participant's consent

Revision ID: 0017_recordings
Revises: 0016_directory_indexes
Create Date: 2026-12-06 19:10:00

``learning_sessions.recording_enabled`` says the mentor may record the room (off for every
existing session). ``recordings`` holds one row per recorded session: its spans, where Janus
writes the raw feeds, the composed file's storage key, the composing job's progress, what the
picture holds, retention and deletion. ``recording_consents`` holds each participant's answer to
being recorded. Downgrading drops both tables and the column.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_recordings"
down_revision = "0016_directory_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("learning_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recording_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey(
                "learning_sessions.id",
                name=op.f("fk_recordings_session_id_learning_sessions"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("spans", sa.JSON(), nullable=False),
        sa.Column("raw_dir", sa.String(length=500), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("progress_step", sa.String(length=60), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=False),
        sa.Column("chapters", sa.JSON(), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "deleted_by_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name=op.f("fk_recordings_deleted_by_id_users"), ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("delete_reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('recording', 'pending', 'processing', 'ready', 'failed', 'deleted')",
            name=op.f("ck_recordings_status_valid"),
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_recordings_progress_range")),
        sa.UniqueConstraint("session_id", name=op.f("uq_recordings_session_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    op.create_index("ix_recordings_status_expires_at", "recordings", ["status", "expires_at"])
    op.create_table(
        "recording_consents",
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey(
                "learning_sessions.id",
                name=op.f("fk_recording_consents_session_id_learning_sessions"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name=op.f("fk_recording_consents_user_id_users"), ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("consented", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_recording_consents")),
    )


def downgrade():
    op.drop_table("recording_consents")
    op.drop_index("ix_recordings_status_expires_at", table_name="recordings")
    op.drop_table("recordings")
    with op.batch_alter_table("learning_sessions", schema=None) as batch_op:
        batch_op.drop_column("recording_enabled")
