"""media rooms: where each session's live room carries its audio and video

Revision ID: 0010_media_rooms
Revises: 0009_interaction_session_kind
Create Date: 2026-12-06 01:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_media_rooms'
down_revision = '0009_interaction_session_kind'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'media_rooms',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('stage', sa.Boolean(), nullable=False),
        sa.Column('instance', sa.String(length=64), nullable=True),
        sa.Column('janus_room', sa.BigInteger(), nullable=True),
        sa.Column('secret', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("mode IN ('janus', 'mesh')", name=op.f('ck_media_rooms_mode_valid')),
        sa.CheckConstraint(
            "mode = 'mesh' OR (instance IS NOT NULL AND janus_room IS NOT NULL)",
            name=op.f('ck_media_rooms_janus_located'),
        ),
        sa.ForeignKeyConstraint(
            ['session_id'], ['learning_sessions.id'],
            name=op.f('fk_media_rooms_session_id_learning_sessions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_media_rooms')),
        sa.UniqueConstraint('janus_room', name=op.f('uq_media_rooms_janus_room')),
    )


def downgrade():
    op.drop_table('media_rooms')
