"""A dispute as its learner sees it (with their booking) and as admins see it (the disputes
queue and a decision's answer)."""

from ..services.disputes import reason_label, status_label


def _time(value):
    return value.isoformat() if value else None


def dispute_json(dispute):
    """A dispute as its learner sees it."""
    return {
        "id": dispute.id,
        "booking_id": dispute.booking_id,
        "status": dispute.status,
        "status_label": status_label(dispute.status),
        "reason": dispute.reason,
        "reason_label": reason_label(dispute.reason),
        "details": dispute.details,
        "refund_paise": dispute.refund_paise,
        "decision_reason": dispute.decision_reason,
        "created_at": _time(dispute.created_at),
        "decided_at": _time(dispute.decided_at),
    }


def admin_dispute_json(dispute, known):
    """A dispute as admins see it: the people, the money and the room's attendance (``known``,
    the dispute's facts from services.disputes.facts)."""
    person = lambda user: {"id": user.id, "name": user.name, "email": user.email}  # noqa: E731
    return {
        **dispute_json(dispute),
        "session": {
            "id": dispute.session.id,
            "title": dispute.session.title,
            "starts_at": _time(dispute.session.starts_at),
            "duration_minutes": known.duration_minutes,
            "settles_at": _time(dispute.session.settles_at),
        },
        "learner": person(dispute.learner),
        "mentor": person(dispute.mentor),
        "payment": {
            "id": known.payment.id,
            "amount_paise": known.payment.amount_paise,
            "refunded_paise": known.payment.refunded_paise,
            "refundable_paise": known.refundable_paise,
            "status": known.payment.status,
        },
        "mentor_present_minutes": known.mentor_present_minutes,
        "learner_attended_minutes": known.learner_minutes,
        "refund": {
            "id": known.refund.id,
            "amount_paise": known.refund.amount_paise,
            "status": known.refund.status,
        }
        if known.refund
        else None,
        "decided_by": {"id": known.decided_by.id, "name": known.decided_by.name}
        if known.decided_by
        else None,
    }
