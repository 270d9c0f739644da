"""The audit log in words: an entry's details as short sentences ("Refunded ₹100 (refund #7).")
rather than its stored keys ("amount paise: 10000"). Each action leads with what was done; any
detail the lead does not use follows, named in plain words, so nothing stored is hidden."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ... import system_texts
from ...jinja import format_inr
from ...services import audit
from . import bp


def _money(details, key):
    value = details.get(key)
    return format_inr(value) if isinstance(value, int) else None


def _refund(d):
    amount = _money(d, "amount_paise")
    if d.get("refund_id"):
        sentence = _("Refunded %(amount)s (refund #%(id)s).", amount=amount, id=d["refund_id"])
    else:
        sentence = _("Refunded %(amount)s.", amount=amount)
    return [sentence], {"amount_paise", "refund_id"}


def _payout_paid(d):
    amount = _money(d, "amount_paise")
    if d.get("to"):
        return [_("Paid a payout of %(amount)s to %(to)s.", amount=amount, to=d["to"])], {
            "amount_paise",
            "to",
        }
    return [_("Paid a payout of %(amount)s.", amount=amount)], {"amount_paise", "to"}


def _payout_rejected(d):
    amount = _money(d, "amount_paise")
    if d.get("to"):
        return [_("Rejected a payout of %(amount)s to %(to)s.", amount=amount, to=d["to"])], {
            "amount_paise",
            "to",
        }
    return [_("Rejected a payout of %(amount)s.", amount=amount)], {"amount_paise", "to"}


def _suspend(d):
    count = d.get("signed_out")
    if not isinstance(count, int):
        return [], set()
    return [ngettext("Signed out of %(num)d device.", "Signed out of %(num)d devices.", count)], {
        "signed_out"
    }


def _strikes(d):
    if not isinstance(d.get("strikes"), int):
        return [], set()
    if d.get("window_days"):
        sentence = _(
            "Publishing suspended after %(strikes)s strikes within %(days)s days.",
            strikes=d["strikes"],
            days=d["window_days"],
        )
    else:
        sentence = _("Publishing suspended after %(strikes)s strikes.", strikes=d["strikes"])
    return [sentence], {"strikes", "window_days"}


def _cancel(d):
    if not d.get("previous_status"):
        return [], set()
    status = str(d["previous_status"])
    sentence = STATE_WORDS[status] if status in STATE_WORDS else status.replace("_", " ")
    return [_("Cancelled a %(status)s session.", status=sentence)], {"previous_status"}


def _dispute_open(d):
    if _money(d, "amount_paise") is None:
        return [], set()
    return [_("Asked for %(amount)s back.", amount=_money(d, "amount_paise"))], {"amount_paise"}


def _dispute_decide(d):
    outcome = str(d.get("outcome") or "decided")
    outcome = str(OUTCOME_WORDS[outcome]) if outcome in OUTCOME_WORDS else outcome.replace("_", " ")
    parts = []
    if _money(d, "refund_paise") is not None:
        parts.append(_("%(amount)s refunded to the learner", amount=_money(d, "refund_paise")))
    if _money(d, "mentor_share_paise") is not None:
        parts.append(_("%(amount)s kept by the mentor", amount=_money(d, "mentor_share_paise")))
    if parts:
        sentence = _("Decided: %(outcome)s: %(details)s.", outcome=outcome, details=", ".join(parts))
    else:
        sentence = _("Decided: %(outcome)s.", outcome=outcome)
    return [sentence], {"outcome", "refund_paise", "mentor_share_paise", "status"}


def _job_requeue(d):
    if not d.get("job_id"):
        return [], set()
    what = f" ({d['job']})" if d.get("job") else ""
    job = f"{d['job_id']}{what}"
    if d.get("queue"):
        sentence = _("Requeued the failed job %(job)s on the %(queue)s queue.", job=job, queue=d["queue"])
    else:
        sentence = _("Requeued the failed job %(job)s.", job=job)
    return [sentence], {"job_id", "job", "queue"}


def _jobs_requeue_all(d):
    if not isinstance(d.get("requeued"), int):
        return [], set()
    return [ngettext("Requeued %(num)d failed job.", "Requeued %(num)d failed jobs.", d["requeued"])], {
        "requeued"
    }


def _account_delete(d):
    parts = [
        _("Account deleted by an admin.") if d.get("by") == "admin" else _("Account deleted by its owner.")
    ]
    bookings, sessions = d.get("cancelled_bookings"), d.get("cancelled_sessions")
    bookings = bookings if isinstance(bookings, int) and bookings else 0
    sessions = sessions if isinstance(sessions, int) and sessions else 0
    if bookings and sessions:
        parts.append(
            _(
                "Cancelled %(bookings)s and %(sessions)s.",
                bookings=ngettext("%(num)d booking", "%(num)d bookings", bookings),
                sessions=ngettext("%(num)d session", "%(num)d sessions", sessions),
            )
        )
    elif bookings or sessions:
        counted = (
            ngettext("%(num)d booking", "%(num)d bookings", bookings)
            if bookings
            else ngettext("%(num)d session", "%(num)d sessions", sessions)
        )
        parts.append(_("Cancelled %(what)s.", what=counted))
    flagged = d.get("sessions_for_review") or []
    if flagged:
        ids = ", ".join(f"#{i}" for i in flagged)
        parts.append(_("Sessions for the admins to decide: %(ids)s.", ids=ids))
    return parts, {"by", "cancelled_bookings", "cancelled_sessions", "sessions_for_review"}


def _deletion_review(d):
    if d.get("decision") == "cancelled":
        return [_("Cancelled a deleted mentor's booked session, refunding its learners.")], {"decision"}
    return [_("Let a deleted mentor's booked session run.")], {"decision"}


LEADS = {
    audit.PAYMENT_REFUND: _refund,
    audit.PAYOUT_PAID: _payout_paid,
    audit.PAYOUT_REJECT: _payout_rejected,
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
    "reason": _l("Reason"),
    "note": _l("Note"),
    "reference": _l("Reference"),
    "previous_reason": _l("Had been suspended for"),
    "suspended_at": _l("Publishing suspended since"),
    "purpose": _l("For"),
}

# Stored states and outcomes as the sentences say them.
STATE_WORDS = {
    "draft": _l("draft"),
    "scheduled": _l("scheduled"),
    "live": _l("live"),
    "booking": _l("booking"),
    "gift": _l("gift"),
    "pack": _l("pack"),
}
OUTCOME_WORDS = {
    "refund_full": _l("refund full"),
    "refund_partial": _l("refund partial"),
    "release": _l("release"),
    "decided": _l("decided"),
}


def _sentence(key, value):
    if value is None or value == "":
        return None
    if key.endswith("_paise") and isinstance(value, int):
        return f"{key.removesuffix('_paise').replace('_', ' ').capitalize()}: {format_inr(value)}."
    if key.endswith("_id"):
        return f"{key.removesuffix('_id').replace('_', ' ').capitalize()} #{value}."
    name = NAMES.get(key, key.replace("_", " ").capitalize())
    if key in ("purpose", "status"):
        text = str(STATE_WORDS[value]) if value in STATE_WORDS else str(value).replace("_", " ")
    elif key.endswith("reason"):
        text = system_texts.translate(str(value))  # a stored sentence, or the admin's own words
    else:
        text = str(value)
    return f"{name}: {text}" + ("" if text.endswith((".", "!", "?", "।")) else ".")


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
