"""Session packs over JSON: a mentor's packs, buying one, the learner's packs, and booking a
session with a credit."""

from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...exceptions import NotFound
from ...serializers.bookings import booking_json
from ...serializers.packs import pack_json, purchase_json
from ...serializers.payments import checkout_options, payment_json
from ...services import packs as pack_service
from ...services import people
from . import bp
from .utils import api_login_required, id_field, json_body


@bp.get("/mentors/<int:user_id>/packs/")
def mentor_packs(user_id):
    """The packs a mentor sells now."""
    if people.find_active_mentor(user_id) is None:
        raise NotFound(_("No such mentor."))
    return ok([pack_json(pack) for pack in pack_service.mentor_packs(user_id)])


@bp.post("/packs/<int:pack_id>/create-payment/")
@api_login_required
def create_pack_payment(pack_id):
    """Open (or reuse) the gateway order for buying a pack; the price comes from the pack."""
    json_body()
    payment = pack_service.start_pack_payment(current_user, pack_id)
    purchase = pack_service.purchase_for_payment(payment)
    checkout = checkout_options(payment, purchase.pack.title, current_user)
    return ok({"payment": payment_json(payment), "checkout": checkout}, _("Order created."))


@bp.get("/my-packs/")
@api_login_required
def my_packs():
    """The signed-in learner's packs (paid for), with the credits left and when they expire."""
    return ok([purchase_json(p) for p in pack_service.learner_purchases(current_user)])


@bp.post("/sessions/<int:session_id>/book-with-credit/")
@api_login_required
def book_with_credit(session_id):
    """Book a seat with a credit of one of the learner's packs (``purchase_id``, else the one
    expiring first that the session is eligible for): confirmed at once, nothing to pay."""
    data = json_body()
    purchase_id = id_field(data, "purchase_id") if data.get("purchase_id") is not None else None
    booking, created = pack_service.book_with_credit(session_id, current_user, purchase_id=purchase_id)
    message = _("Booked with a credit.") if created else _("You already have this booking.")
    return ok(booking_json(booking), message, status=201 if created else 200)
