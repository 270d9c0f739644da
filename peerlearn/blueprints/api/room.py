"""The live room over JSON: the mentor going live and ending the session, TURN credentials for
participants, and gifts to the mentor."""

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...serializers.gifts import gift_json
from ...serializers.payments import checkout_options
from ...serializers.sessions import session_detail
from ...services import checkout, settlement
from ...services import room as room_service
from ...services import sessions as session_service
from . import bp
from .mentor import mentor_required
from .utils import api_login_required, id_field, json_body


@bp.post("/sessions/<int:session_id>/start/")
@mentor_required
def start_session(session_id):
    """The mentor goes live, as the Go live button does; booked learners are told at once."""
    json_body()  # a body, if any, must still be JSON
    session = room_service.start(current_user, session_id)
    return ok(session_detail(session), _("You're live. Learners who booked have been told."))


@bp.post("/sessions/<int:session_id>/end/")
@mentor_required
def end_session(session_id):
    """The mentor ends the session for everyone, as the room's End for all does."""
    json_body()
    session = room_service.end(current_user, session_id)
    session_service.announce_completed(session)
    return ok(session_detail(session), settlement.ended_message(session))


@bp.get("/sessions/<int:session_id>/ice-servers/")
@api_login_required
def ice_servers(session_id):
    """ICE servers for a participant of this session's room (short-lived TURN credentials when
    TURN_SECRET is set). Anyone who may not enter the room gets the refusal."""
    room_service.session_for_entry(current_user, session_id)
    return ok({"ice_servers": room_service.ice_servers(current_user)})


@bp.post("/gift/create/")
@api_login_required
def create_gift():
    """Open a gateway order for a gift to the mentor of a session the learner is in now.

    Body: ``{session_id, amount_paise, message}``; the amount is checked against the gift range
    and stored, and everything after this reads it from the database."""
    data = json_body()
    gift, payment = checkout.create_gift(
        current_user, id_field(data, "session_id"), data.get("amount_paise"), data.get("message", "")
    )
    return ok(
        {
            "gift": gift_json(gift),
            "checkout": checkout_options(
                payment, _("A gift for %(name)s", name=payment.mentor.name), current_user
            ),
        },
        _("Gift order created."),
        status=201,
    )


@bp.post("/gift/verify/")
@api_login_required
def verify_gift():
    """The checkout callback for a gift; the room hears about it once, however often it arrives."""
    data = json_body()
    gift = checkout.verify_gift(
        current_user,
        order_id=data.get("razorpay_order_id"),
        payment_id=data.get("razorpay_payment_id"),
        signature=data.get("razorpay_signature"),
    )
    message = _("Gift sent.") if gift.status == "paid" else _("Gift payment %(status)s.", status=gift.status)
    return ok({"gift": gift_json(gift)}, message)
