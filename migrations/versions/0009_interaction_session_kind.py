"""interactions indexed by session and kind

Revision ID: 0009_interaction_session_kind
Revises: 0008_community
Create Date: 2026-11-27 21:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_interaction_session_kind'
down_revision = '0008_community'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_session_id_kind', ['session_id', 'kind'], unique=False)
        batch_op.drop_index('ix_interactions_session_id')


def downgrade():
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_session_id', ['session_id'], unique=False)
        batch_op.drop_index('ix_interactions_session_id_kind')
