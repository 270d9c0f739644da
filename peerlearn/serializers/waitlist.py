"""A learner's place in a session's waitlist, as they see it."""

from ..links import external_url


def _time(value):
    return value.isoformat() if value else None


def waitlist_json(place):
    """``place`` is ``services.waitlist.status()``: the learner's entry (or none) and the line."""
    offered = place["status"] == "offered" and place["booking_id"] is not None
    return {
        "session_id": place["session_id"],
        "status": place["status"],
        "position": place["position"],
        "waiting": place["waiting"],
        "joined_at": _time(place["joined_at"]),
        "booking_id": place["booking_id"],
        "offer_expires_at": _time(place["offer_expires_at"]) if offered else None,
        "pay_url": external_url("payments.checkout", booking_id=place["booking_id"]) if offered else None,
    }
