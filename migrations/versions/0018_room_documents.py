"""room_documents: a session's shared notes and whiteboard

Revision ID: 0018_room_documents
Revises: 0017_recordings
Create Date: 2026-12-06 19:20:00

``room_documents`` holds one row per session whose notes or whiteboard were opened: the Yjs
document's merged state, the number of merges (``version``, which a merge checks before it
writes), whether learners may edit, and when it last changed. Downgrading drops the table.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_room_documents"
down_revision = "0017_recordings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "room_documents",
        sa.Column(
            "session_id",
            sa.Integer(),
            sa.ForeignKey(
                "learning_sessions.id",
                name=op.f("fk_room_documents_session_id_learning_sessions"),
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("learners_may_edit", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_room_documents_version_not_negative")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_room_documents")),
    )


def downgrade():
    op.drop_table("room_documents")
