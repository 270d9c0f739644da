"""move payments: a learner pays the difference to move a booking to a dearer session

Revision ID: 0025_move_payments
Revises: 0024_packs
Create Date: 2026-12-07 02:10:00
"""

# revision identifiers, used by Alembic.
revision = "0025_move_payments"
down_revision = "0024_packs"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
