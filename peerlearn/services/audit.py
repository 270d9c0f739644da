"""The audit log: every admin action, and the few the platform takes by itself (a mentor's
publishing suspended by strikes), is an ``AuditEntry`` written in the same transaction as the
change it records, so the log never claims an action that was rolled back, nor misses one that
happened. The admin pages read it back (services.admin)."""

from dataclasses import dataclass

from ..extensions import db
from ..models import AuditEntry, utcnow

# The actions written to the audit log.
USER_SUSPEND = "user.suspend"
USER_UNSUSPEND = "user.unsuspend"
MENTOR_VERIFY = "mentor.verify"
MENTOR_UNVERIFY = "mentor.unverify"
# Publishing suspended by strikes (no actor: services.settlement), and lifted by an admin.
MENTOR_PUBLISHING_SUSPEND = "mentor.publishing_suspend"
MENTOR_PUBLISHING_RESTORE = "mentor.publishing_restore"
SESSION_CANCEL = "session.cancel"
REVIEW_HIDE = "review.hide"
PAYOUT_PAID = "payout.paid"
PAYOUT_REJECT = "payout.reject"
PAYMENT_REFUND = "payment.refund"
DISPUTE_OPEN = "dispute.open"  # by the learner who reported the problem
DISPUTE_DECIDE = "dispute.decide"
JOB_REQUEUE = "job.requeue"  # a failed background job put back on its queue (details: job_id)
JOB_REQUEUE_ALL = "job.requeue_all"
# A session's recording deleted by its mentor or an admin (details: recording_id, reason), and an
# admin acting on a learner's request to be cut out of it (services.recording_library.cut_out).
RECORDING_DELETE = "recording.delete"
RECORDING_CUT_OUT = "recording.cut_out"
# Your data (services.your_data): an export asked for (details: export_id), an account deleted by
# its owner or an admin, and an admin's decision on a deleted mentor's booked session.
DATA_EXPORT = "data.export"
ACCOUNT_DELETE = "account.delete"
DELETION_REVIEW_DECIDE = "deletion_review.decide"
# Growth (services.admin_growth): a learner taken out of a session's line, a pack's unused credits
# refunded, a webhook delivery sent again, and a disabled webhook endpoint enabled again.
WAITLIST_REMOVE = "waitlist.remove"
PACK_REFUND = "pack.refund"
WEBHOOK_REDELIVER = "webhook.redeliver"
WEBHOOK_ENABLE = "webhook.enable"
ACTIONS = (
    USER_SUSPEND,
    USER_UNSUSPEND,
    MENTOR_VERIFY,
    MENTOR_UNVERIFY,
    MENTOR_PUBLISHING_SUSPEND,
    MENTOR_PUBLISHING_RESTORE,
    SESSION_CANCEL,
    REVIEW_HIDE,
    PAYOUT_PAID,
    PAYOUT_REJECT,
    PAYMENT_REFUND,
    DISPUTE_OPEN,
    DISPUTE_DECIDE,
    JOB_REQUEUE,
    JOB_REQUEUE_ALL,
    RECORDING_DELETE,
    RECORDING_CUT_OUT,
    DATA_EXPORT,
    ACCOUNT_DELETE,
    DELETION_REVIEW_DECIDE,
    WAITLIST_REMOVE,
    PACK_REFUND,
    WEBHOOK_REDELIVER,
    WEBHOOK_ENABLE,
)
TARGET_TYPES = ("user", "session", "review", "payout", "payment", "dispute", "job", "webhook")


@dataclass(frozen=True)
class Origin:
    """Where an admin action came from, for the audit log."""

    ip_address: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, request):
        # remote_addr is the client's address: ProxyFix has applied the trusted proxies' headers.
        return cls((request.remote_addr or "")[:45], (request.user_agent.string or "")[:300])


def record(actor, action, *, target_type="", target_id=None, details=None, origin=None):
    """Add an audit entry to the current transaction; the caller commits it with its change."""
    origin = origin or Origin()
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry
