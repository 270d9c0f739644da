"""user locale: the language a user chose

Revision ID: 0027_user_locale
Revises: 0026_push_subscriptions
Create Date: 2026-12-07 02:10:00

``users`` gains ``locale``: the language the person chose with the switcher or on their settings
page ("en", "hi"), NULL until they choose (then the ``lang`` cookie or the browser decides).
Downgrading drops the column.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027_user_locale"
down_revision = "0026_push_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
