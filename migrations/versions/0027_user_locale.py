"""user locale: the language a user chose

Revision ID: 0027_user_locale
Revises: 0026_push_subscriptions
Create Date: 2026-12-07 02:10:00
"""

# revision identifiers, used by Alembic.
revision = "0027_user_locale"
down_revision = "0026_push_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
