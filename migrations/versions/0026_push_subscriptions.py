"""push subscriptions: Web Push endpoints a user's browsers registered

Revision ID: 0026_push_subscriptions
Revises: 0025_move_payments
Create Date: 2026-12-07 02:10:00
"""

# revision identifiers, used by Alembic.
revision = "0026_push_subscriptions"
down_revision = "0025_move_payments"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
