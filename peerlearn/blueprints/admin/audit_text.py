"""The audit log in words: an entry's details as short sentences ("Refunded ₹100 (refund #7).")
rather than its stored keys ("amount paise: 10000"). Each action leads with what was done; any
detail the lead does not use follows, named in plain words, so nothing stored is hidden."""

from ...jinja import format_inr
from ...services import audit
from . import bp


def _money(details, key):
    value = details.get(key)
    return format_inr(value) if isinstance(value, int) else None


def _refund(d):
    refund = f" (refund #{d['refund_id']})" if d.get("refund_id") else ""
    return [f"Refunded {_money(d, 'amount_paise')}{refund}."], {"amount_paise", "refund_id"}


def _payout(verb):
    def lead(d):
        to = f" to {d['to']}" if d.get("to") else ""
        return [f"{verb} a payout of {_money(d, 'amount_paise')}{to}."], {"amount_paise", "to"}

    return lead


def _suspend(d):
    count = d.get("signed_out")
    if not isinstance(count, int):
        return [], set()
    devices = "1 device" if count == 1 else f"{count} devices"
    return [f"Signed out of {devices}."], {"signed_out"}


def _strikes(d):
    if not isinstance(d.get("strikes"), int):
        return [], set()
    within = f" within {d['window_days']} days" if d.get("window_days") else ""
    return [f"Publishing suspended after {d['strikes']} strikes{within}."], {"strikes", "window_days"}


def _cancel(d):
    if not d.get("previous_status"):
        return [], set()
    return [f"Cancelled a {str(d['previous_status']).replace('_', ' ')} session."], {"previous_status"}


def _dispute_open(d):
    if _money(d, "amount_paise") is None:
        return [], set()
    return [f"Asked for {_money(d, 'amount_paise')} back."], {"amount_paise"}


def _dispute_decide(d):
    outcome = str(d.get("outcome") or "decided").replace("_", " ")
    parts = []
    if _money(d, "refund_paise") is not None:
        parts.append(f"{_money(d, 'refund_paise')} refunded to the learner")
    if _money(d, "mentor_share_paise") is not None:
        parts.append(f"{_money(d, 'mentor_share_paise')} kept by the mentor")
    tail = f": {', '.join(parts)}" if parts else ""
    return [f"Decided: {outcome}{tail}."], {"outcome", "refund_paise", "mentor_share_paise", "status"}


def _job_requeue(d):
    if not d.get("job_id"):
        return [], set()
    what = f" ({d['job']})" if d.get("job") else ""
    on = f" on the {d['queue']} queue" if d.get("queue") else ""
    return [f"Requeued the failed job {d['job_id']}{what}{on}."], {"job_id", "job", "queue"}


def _jobs_requeue_all(d):
    if not isinstance(d.get("requeued"), int):
        return [], set()
    jobs = "1 failed job" if d["requeued"] == 1 else f"{d['requeued']} failed jobs"
    return [f"Requeued {jobs}."], {"requeued"}


def _account_delete(d):
    who = "by an admin" if d.get("by") == "admin" else "by its owner"
    parts = [f"Account deleted {who}."]
    counts = [(d.get("cancelled_bookings"), "booking"), (d.get("cancelled_sessions"), "session")]
    cancelled = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in counts if isinstance(n, int) and n]
    if cancelled:
        parts.append("Cancelled " + " and ".join(cancelled) + ".")
    flagged = d.get("sessions_for_review") or []
    if flagged:
        parts.append("Sessions for the admins to decide: " + ", ".join(f"#{i}" for i in flagged) + ".")
    return parts, {"by", "cancelled_bookings", "cancelled_sessions", "sessions_for_review"}


def _deletion_review(d):
    if d.get("decision") == "cancelled":
        return ["Cancelled a deleted mentor's booked session, refunding its learners."], {"decision"}
    return ["Let a deleted mentor's booked session run."], {"decision"}


LEADS = {
    audit.PAYMENT_REFUND: _refund,
    audit.PAYOUT_PAID: _payout("Paid"),
    audit.PAYOUT_REJECT: _payout("Rejected"),
    audit.USER_SUSPEND: _suspend,
    audit.MENTOR_PUBLISHING_SUSPEND: _strikes,
    audit.SESSION_CANCEL: _cancel,
    audit.DISPUTE_OPEN: _dispute_open,
    audit.DISPUTE_DECIDE: _dispute_decide,
    audit.JOB_REQUEUE: _job_requeue,
    audit.JOB_REQUEUE_ALL: _jobs_requeue_all,
    audit.ACCOUNT_DELETE: _account_delete,
    audit.DELETION_REVIEW_DECIDE: _deletion_review,
}

# How the remaining keys read; ids become "#7", paise become rupees, times stay as stored.
NAMES = {
    "reason": "Reason",
    "note": "Note",
    "reference": "Reference",
    "previous_reason": "Had been suspended for",
    "suspended_at": "Publishing suspended since",
    "purpose": "For",
}


def _sentence(key, value):
    if value is None or value == "":
        return None
    if key.endswith("_paise") and isinstance(value, int):
        return f"{key.removesuffix('_paise').replace('_', ' ').capitalize()}: {format_inr(value)}."
    if key.endswith("_id"):
        return f"{key.removesuffix('_id').replace('_', ' ').capitalize()} #{value}."
    name = NAMES.get(key, key.replace("_", " ").capitalize())
    text = str(value).replace("_", " ") if key in ("purpose", "status") else str(value)
    return f"{name}: {text}" + ("" if text.endswith((".", "!", "?")) else ".")


@bp.app_template_filter("audit_sentences")
def audit_sentences(entry):
    """The entry's details as sentences, the action's own first."""
    details = entry.details or {}
    lead = LEADS.get(entry.action)
    sentences, used = lead(details) if lead else ([], set())
    for key, value in details.items():
        if key not in used and (sentence := _sentence(key, value)):
            sentences.append(sentence)
    return sentences
