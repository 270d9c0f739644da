"""credential epoch: a reset, a password change or "log out everywhere" retires older links

Revision ID: 0014_credential_epoch
Revises: 0013_one_order_per_booking
Create Date: 2026-12-07 11:20:05

`users.credential_epoch` counts the changes of a user's credentials (a completed password reset,
a password change, "log out everywhere"). Emailed reset and verification links carry the epoch
they were issued under and are refused once it has moved on. Existing accounts start at 0, and
links sent before this migration count as issued at 0, so they keep working until the next change.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_credential_epoch"
down_revision = "0013_one_order_per_booking"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_epoch", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("credential_epoch")
