"""The growth actions' audit entries in words (services.admin_growth), added to the audit log's
leads (audit_text.LEADS): a learner taken out of a line, a pack refunded, a webhook delivery sent
again, an endpoint enabled again."""

from flask_babel import gettext as _

from ... import system_texts
from ...services import audit
from .audit_text import LEADS, _money


def _waitlist_remove(d):
    learner = d.get("learner_id")
    if learner is None:
        return [], set()
    if d.get("was") == "offered":
        sentence = _("Took learner #%(id)s off the waitlist, giving up the seat offered to them.", id=learner)
    else:
        sentence = _("Took learner #%(id)s off the waitlist.", id=learner)
    return [sentence], {"learner_id", "was"}


def _pack_refund(d):
    purchase = d.get("purchase_id")
    if purchase is None:
        return [], set()
    if d.get("refund_id"):
        sentence = _(
            "Closed pack purchase #%(purchase)s and refunded %(amount)s of unused credits (refund #%(id)s).",
            purchase=purchase,
            amount=_money(d, "amount_paise"),
            id=d["refund_id"],
        )
    else:
        sentence = _("Closed pack purchase #%(purchase)s; nothing was left to refund.", purchase=purchase)
    return [sentence], {"purchase_id", "amount_paise", "refund_id", "unused_paise"}


def _webhook_redeliver(d):
    if d.get("delivery_id") is None:
        return [], set()
    sentence = _("Sent delivery #%(id)s (%(event)s) again.", id=d["delivery_id"], event=d.get("event") or "?")
    return [sentence], {"delivery_id", "event"}


def _webhook_enable(d):
    if d.get("previous_reason"):
        return [
            _(
                "Enabled the webhook again; it had been disabled: %(reason)s",
                reason=system_texts.translate(d["previous_reason"]),
            )
        ], {"previous_reason"}
    return [_("Enabled the webhook again.")], {"previous_reason"}


LEADS.update(
    {
        audit.WAITLIST_REMOVE: _waitlist_remove,
        audit.PACK_REFUND: _pack_refund,
        audit.WEBHOOK_REDELIVER: _webhook_redeliver,
        audit.WEBHOOK_ENABLE: _webhook_enable,
    }
)
