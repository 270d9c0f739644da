from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select

from peerlearn.extensions import db
from peerlearn.models import LearningSession, OutboundEmail, User, utcnow
from peerlearn.services.passwords import hash_password

DEFAULT_PASSWORD = "correct-horse-battery"  # noqa: S105 - a test's own credential, not a secret


class UserFactory(SQLAlchemyModelFactory):
    """An account; ``role="mentor"`` turns teaching on and ``role="admin"`` makes an admin, as the
    registration and `flask create-admin` would (``mentor=True`` gives an admin teaching too)."""

    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    class Params:
        unverified = factory.Trait(email_verified_at=None)
        role = "learner"
        mentor = factory.LazyAttribute(lambda o: o.role == "mentor")

    teaching_enabled_at = factory.LazyAttribute(lambda o: utcnow() if o.mentor else None)
    is_admin = factory.LazyAttribute(lambda o: o.role == "admin")
    name = factory.Sequence(lambda n: f"User Number{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    timezone = "Asia/Kolkata"
    email_verified_at = factory.LazyFunction(utcnow)
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))


class SessionFactory(SQLAlchemyModelFactory):
    """A scheduled (published) session three days ahead; pass status="draft" for a draft."""

    class Meta:
        model = LearningSession
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    mentor = factory.SubFactory(UserFactory, role="mentor")
    title = factory.Sequence(lambda n: f"Practical session {n}")
    description = "Hands-on practice with questions answered live."
    category = "Programming"
    level = "all"
    language = "English"
    starts_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=3))
    duration_minutes = 60
    capacity = 5
    price_paise = 0
    status = "scheduled"
    published_at = factory.LazyFunction(utcnow)


def paid_booking(session, learner, *, method="upi"):
    """Book a paid session and pay for it through the dev gateway, as a learner's browser would:
    the booking is confirmed and the ledger holds the capture's split. Returns (booking, payment)."""
    from peerlearn.payments import get_gateway
    from peerlearn.services import booking as booking_service
    from peerlearn.services import payments as payment_service

    booking, _ = booking_service.book(session.id, learner)
    payment = payment_service.start_booking_payment(learner, booking.id)
    remote, signature = get_gateway().pay(payment.order_id, method=method)
    db.session.commit()  # the gateway's side of the payment
    payment = payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )
    db.session.refresh(booking)
    return booking, payment


def hold(session, ended_at=None, *, present=None, settlement=timedelta(hours=48)):
    """Settle ``session`` as held, setting directly what settlement sets (so no room is needed):
    completed, started on time and ended at ``ended_at`` (its scheduled end unless given), its
    mentor in the room for ``present`` minutes (the whole slot unless given), its money settling
    ``settlement`` after the end (SETTLEMENT_HOURS' default); its confirmed bookings attended."""
    from peerlearn.models import Booking

    session.status = "completed"
    session.started_at = session.starts_at
    session.ended_at = ended_at or session.ends_at
    session.mentor_present_minutes = session.duration_minutes if present is None else present
    session.settles_at = session.ended_at + settlement
    for booking in db.session.scalars(select(Booking).where(Booking.session_id == session.id)):
        if booking.status == "confirmed":
            booking.status = "attended"
    db.session.commit()


def paid_gift(session, sender, amount_paise):
    """A gift from ``sender`` to the session's mentor, paid through the dev gateway and the same
    capture path as the room's (who may send one from the room is the gift tests' business).
    Returns the captured payment."""
    import secrets

    from peerlearn.models import Gift, Payment
    from peerlearn.payments import get_gateway
    from peerlearn.services import payments as payment_service

    gateway = get_gateway()
    receipt = f"gf_{session.id}_{secrets.token_hex(4)}"
    order_id = gateway.create_order(amount_paise=amount_paise, currency="INR", receipt=receipt, notes={})
    payment = Payment(
        purpose="gift",
        payer_id=sender.id,
        mentor_id=session.mentor_id,
        gateway=gateway.name,
        order_id=order_id,
        receipt=receipt,
        amount_paise=amount_paise,
        currency="INR",
    )
    db.session.add(payment)
    db.session.flush()
    db.session.add(
        Gift(
            session_id=session.id,
            sender_id=sender.id,
            mentor_id=session.mentor_id,
            amount_paise=amount_paise,
            payment_id=payment.id,
        )
    )
    db.session.commit()
    remote, signature = gateway.pay(order_id)
    db.session.commit()  # the gateway's side of the payment
    return payment_service.verify_checkout(
        sender, order_id=order_id, payment_id=remote.id, signature=signature
    )


def make_session(mentor, *, skills=(), **overrides):
    """A scheduled session of ``mentor``, three days from now unless ``starts_at`` is given."""
    from peerlearn.services import skills as skill_service

    values = {
        "mentor_id": mentor.id,
        "title": "Practical Flask",
        "description": "",
        "category": "Programming",
        "level": "all",
        "language": "English",
        "starts_at": utcnow() + timedelta(days=3),
        "duration_minutes": 60,
        "capacity": 5,
        "seats_taken": 0,
        "price_paise": 0,
        "status": "scheduled",
    }
    values.update(overrides)
    session = LearningSession(**values)
    session.skills = skill_service.resolve(list(skills))
    db.session.add(session)
    db.session.commit()
    return session


def queued_email(**overrides):
    """A plain notice queued for sending (committed); its id."""
    values = {
        "to_address": "someone@example.com",
        "subject": "Hello",
        "template": "notice",
        "text_body": "Hi",
        "html_body": "<p>Hi</p>",
    }
    values.update(overrides)
    email = OutboundEmail(**values)
    db.session.add(email)
    db.session.commit()
    return email.id
