"""email caps: what a notification email is about, who caused it, and dropped emails

Revision ID: 0015_email_caps
Revises: 0014_credential_epoch
Create Date: 2026-12-06 06:55:00

Outbound emails record their notification kind, the person whose action caused them, what they
are about (``collapse_key``) and a time before which they may not be sent, so that social email
can be collapsed, taken back and capped per hour (docs/notifications.md#email-caps). A new status,
``dropped``, with its ``drop_reason``, marks an email never sent on purpose. Notifications get the
same ``collapse_key``. Emails recorded before carry no kind and are never capped. Downgrading makes
dropped emails failed and removes the columns.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_email_caps"
down_revision = "0014_credential_epoch"
branch_labels = None
depends_on = None

outbound_emails = sa.table(
    "outbound_emails",
    sa.column("status", sa.String),
    sa.column("last_error", sa.Text),
    sa.column("drop_reason", sa.String),
)


def upgrade():
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drop_reason", sa.String(length=20), server_default="", nullable=False))
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sender_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("collapse_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("send_after", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbound_emails_sender_id_users"),
            "users",
            ["sender_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_outbound_emails_user_id_claimed_at", ["user_id", "claimed_at"])
        batch_op.create_index("ix_outbound_emails_user_id_collapse_key", ["user_id", "collapse_key"])
        batch_op.drop_constraint(batch_op.f("ck_outbound_emails_status_valid"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbound_emails_status_valid"), "status IN ('queued', 'sent', 'failed', 'dropped')"
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collapse_key", sa.String(length=80), nullable=True))
        batch_op.create_index("ix_notifications_user_id_collapse_key", ["user_id", "collapse_key"])


def downgrade():
    op.execute(
        outbound_emails.update()
        .where(outbound_emails.c.status == "dropped")
        .values(status="failed", last_error="Dropped: " + outbound_emails.c.drop_reason)
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_collapse_key")
        batch_op.drop_column("collapse_key")
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbound_emails_status_valid"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_outbound_emails_status_valid"), "status IN ('queued', 'sent', 'failed')"
        )
        batch_op.drop_index("ix_outbound_emails_user_id_collapse_key")
        batch_op.drop_index("ix_outbound_emails_user_id_claimed_at")
        batch_op.drop_constraint(batch_op.f("fk_outbound_emails_sender_id_users"), type_="foreignkey")
        batch_op.drop_column("send_after")
        batch_op.drop_column("collapse_key")
        batch_op.drop_column("sender_id")
        batch_op.drop_column("kind")
        batch_op.drop_column("drop_reason")
