"""capabilities: one account learns and teaches

Revision ID: 0012_capabilities
Revises: 0011_trust_money
Create Date: 2026-12-06 04:01:18

The single `users.role` becomes capabilities: every account learns, `teaching_enabled_at` says
since when it teaches (existing mentors: since their account was created) and `is_admin` marks
the administrators. Downgrading keeps one role per account, the highest (admin > mentor > learner).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_capabilities"
down_revision = "0011_trust_money"
branch_labels = None
depends_on = None

users = sa.table(
    "users",
    sa.column("role", sa.String),
    sa.column("teaching_enabled_at", sa.DateTime(timezone=True)),
    sa.column("is_admin", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("teaching_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.execute(users.update().where(users.c.role == "mentor").values(teaching_enabled_at=users.c.created_at))
    op.execute(users.update().where(users.c.role == "admin").values(is_admin=sa.true()))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role_valid"), type_="check")
        batch_op.drop_column("role")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=16), server_default="learner", nullable=False))

    op.execute(users.update().where(users.c.teaching_enabled_at.is_not(None)).values(role="mentor"))
    op.execute(users.update().where(users.c.is_admin).values(role="admin"))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("role", server_default=None)
        batch_op.create_check_constraint(
            batch_op.f("ck_users_role_valid"), "role IN ('learner', 'mentor', 'admin')"
        )
        batch_op.drop_column("is_admin")
        batch_op.drop_column("teaching_enabled_at")
