"""Session requests: ask → accept (a one-seat session kept for the asker) → confirm and pay;
decline with a note; withdraw; expiry; and the refusals around them."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from peerlearn.exceptions import Conflict, NotFound, PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    Booking,
    LearningSession,
    Notification,
    OutboundEmail,
    SessionRequest,
    utcnow,
)
from peerlearn.payments import get_gateway
from peerlearn.services import booking as booking_service
from peerlearn.services import notifications
from peerlearn.services import payments as payment_service
from peerlearn.services import session_requests as service
from peerlearn.tasks.periodic import PERIODIC_JOBS


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com", hourly_rate_paise=120000)


@pytest.fixture
def learner(make_user):
    return make_user(name="Ravi Kumar", email="ravi@example.com")


def later(**delta):
    """A whole-minute UTC time ahead of now (whole minutes survive the forms' round trip)."""
    return (utcnow() + timedelta(**delta)).replace(second=0, microsecond=0)


def ask(learner, mentor, **fields):
    data = {
        "topic": "Code review of my Flask app",
        "message": "I'd like feedback on the blueprint layout.",
        "preferred_times": [later(days=3).isoformat(), later(days=4).isoformat()],
        "budget_paise": 50000,
    }
    data.update(fields)
    return service.create_request(learner, mentor.id, data)


def notes_of(user, kind):
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(Notification.id)
        )
    )


def emails_to(user):
    return list(
        db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.user_id == user.id).order_by(OutboundEmail.id)
        )
    )


def pay(booking, learner):
    """Pay a held booking through the dev gateway, as the learner's browser would."""
    payment = payment_service.start_booking_payment(learner, booking.id)
    remote, signature = get_gateway().pay(payment.order_id, method="upi")
    db.session.commit()
    return payment_service.verify_checkout(
        learner, order_id=payment.order_id, payment_id=remote.id, signature=signature
    )


def test_the_whole_flow_ask_accept_reserve_pay(mentor, learner, make_user):
    first, second = later(days=3), later(days=4)
    req = ask(learner, mentor, preferred_times=[first.isoformat(), second.isoformat()])
    assert req.status == "pending" and req.budget_paise == 50000
    assert req.expires_at - req.created_at == timedelta(days=7)

    # The mentor hears of it in the app and by email.
    [note] = notes_of(mentor, "request_received")
    assert "Ravi Kumar" in note.title and note.url == f"/requests/{req.id}"
    [email] = emails_to(mentor)
    assert "Code review of my Flask app" in email.text_body and "₹500" in email.text_body

    req, session = service.accept(mentor, req.id)
    assert req.status == "accepted" and req.session_id == session.id and req.responded_at is not None
    db.session.expire_all()
    session = db.session.get(LearningSession, session.id)
    assert session.title == "Code review of my Flask app"
    assert session.description == "I'd like feedback on the blueprint layout."
    assert session.starts_at == first and session.duration_minutes == 60
    assert session.capacity == 1 and session.price_paise == 50000 and session.category == "Other"
    assert session.status == "scheduled" and session.published_at is not None
    # The learner has until the window closes, never past the start.
    assert req.expires_at == session.starts_at

    [answered] = notes_of(learner, "request_answered")
    assert "accepted" in answered.title
    [accepted_email] = emails_to(learner)
    assert f"/requests/{req.id}" in accepted_email.text_body and "Confirm and pay" in accepted_email.text_body

    # Nobody else can take the seat while it is kept.
    other = make_user()
    with pytest.raises(Conflict) as refused:
        booking_service.book(session.id, other)
    assert refused.value.code == "session_reserved"
    # Nor is it offered to them: the catalog and the landing page leave it out while it is kept.
    from peerlearn.services import search

    params = search.parse_search_params({})
    assert session.id not in [s.id for s in search.search_sessions(params, viewer=other)[0]]
    assert session.id not in [s.id for s in search.featured_sessions()]

    req, booking, created = service.confirm(learner, req.id)
    assert created and booking.status == "pending_payment" and booking.amount_paise == 50000
    assert req.booking_id == booking.id
    payment = pay(booking, learner)
    db.session.refresh(booking)
    assert payment.is_captured and booking.status == "confirmed"

    # Confirming again finds the booking; the sweep leaves a request with a seat alone.
    assert service.confirm(learner, req.id)[1].id == booking.id
    assert service.expire_requests(now=utcnow() + timedelta(days=8)) == 0
    assert db.session.get(SessionRequest, req.id).status == "accepted"


def test_mentor_picks_another_time_price_category_and_skills(mentor, learner):
    req = ask(learner, mentor, budget_paise=None)
    chosen = later(days=5, hours=2)
    req, session = service.accept(
        mentor,
        req.id,
        {
            "starts_at": chosen.isoformat(),
            "price_paise": 0,
            "category": "Programming",
            "skills": ["Flask"],
            "duration_minutes": 90,
            "note": "Bring the repository link.",
        },
    )
    assert session.starts_at == chosen and session.price_paise == 0 and session.category == "Programming"
    assert [s.name for s in session.skills] == ["Flask"] and session.duration_minutes == 90
    assert req.response_note == "Bring the repository link."

    # A free seat is confirmed at once, and the mentor is told.
    _req, booking, _ = service.confirm(learner, req.id)
    assert booking.status == "confirmed"
    assert any("confirmed" in n.title for n in notes_of(mentor, "request_received"))


def test_without_a_budget_the_price_defaults_to_the_hourly_rate(mentor, learner):
    req = ask(learner, mentor, budget_paise=None)
    _req, session = service.accept(mentor, req.id)
    assert session.price_paise == 120000


def test_a_mentors_naive_time_is_read_in_the_mentors_timezone(make_user, learner):
    mentor = make_user(role="mentor", timezone="America/New_York")
    req = ask(learner, mentor)
    day = (utcnow() + timedelta(days=6)).date()
    _req, session = service.accept(mentor, req.id, {"starts_at": f"{day.isoformat()}T09:00"})
    local = session.starts_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (day, 9, 0)


def test_bad_accept_choices_leave_the_request_pending_and_create_nothing(mentor, learner):
    req = ask(learner, mentor)
    for choices, field in (
        ({"price_paise": 50}, "price_paise"),
        ({"category": "Astrology"}, "category"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"starts_at": later(minutes=2).isoformat()}, "starts_at"),
        ({"note": "x" * 2001}, "note"),
    ):
        with pytest.raises(ValidationError) as refused:
            service.accept(mentor, req.id, choices)
        assert field in refused.value.fields, choices
    with pytest.raises(ValidationError) as refused:
        service.accept(mentor, req.id, {"capacity": 5})
    assert refused.value.code == "read_only_field"
    db.session.expire_all()
    assert db.session.get(SessionRequest, req.id).status == "pending"
    assert db.session.scalar(select(func.count(LearningSession.id))) == 0


def test_when_every_preferred_time_has_passed_the_mentor_must_choose_one(mentor, learner):
    req = ask(learner, mentor, preferred_times=[later(hours=2).isoformat()])
    with pytest.raises(ValidationError) as refused:
        service.accept(mentor, req.id, now=utcnow() + timedelta(hours=3))
    assert "starts_at" in refused.value.fields


def test_decline_with_a_note_tells_the_learner(mentor, learner):
    req = ask(learner, mentor)
    req = service.decline(mentor, req.id, "I don't teach Flask any more; try Meera.")
    assert req.status == "declined" and req.response_note.startswith("I don't teach")
    [note] = notes_of(learner, "request_answered")
    assert "declined" in note.title and "try Meera" in note.body
    [email] = emails_to(learner)
    assert "try Meera" in email.text_body and "try Meera" in email.html_body

    with pytest.raises(Conflict) as refused:
        service.accept(mentor, req.id)
    assert refused.value.code == "request_declined"
    with pytest.raises(Conflict):
        service.withdraw(learner, req.id)


def test_a_pending_request_expires_after_seven_days(mentor, learner):
    req = ask(learner, mentor)
    created = req.created_at
    assert service.expire_requests(now=created + timedelta(days=6, hours=23)) == 0

    after = created + timedelta(days=7, seconds=1)
    # Before the sweep has run, nothing can happen to it any more.
    with pytest.raises(Conflict) as refused:
        service.accept(mentor, req.id, now=after)
    assert refused.value.code == "request_expired"

    assert service.expire_requests(now=after) == 1
    assert service.expire_requests(now=after) == 0  # safe to run twice
    db.session.expire_all()
    assert db.session.get(SessionRequest, req.id).status == "expired"
    assert "expired" in notes_of(learner, "request_answered")[-1].title
    assert "expired" in notes_of(mentor, "request_received")[-1].title

    for action in (
        lambda: service.accept(mentor, req.id, now=after),
        lambda: service.decline(mentor, req.id, "late", now=after),
        lambda: service.withdraw(learner, req.id, now=after),
        lambda: service.confirm(learner, req.id, now=after),
    ):
        with pytest.raises(Conflict) as refused:
            action()
        assert refused.value.code == "request_expired"


def test_an_accepted_request_the_learner_never_confirms_lapses_and_frees_the_session(
    app, mentor, learner, make_user
):
    app.config["REQUEST_EXPIRY_DAYS"] = 7
    req = ask(learner, mentor, preferred_times=[later(days=20).isoformat()], budget_paise=0)
    req, session = service.accept(mentor, req.id)
    accepted_at = req.responded_at
    assert req.expires_at == accepted_at + timedelta(days=7)  # a fresh window for the learner

    after = accepted_at + timedelta(days=7, minutes=1)
    with pytest.raises(Conflict) as refused:
        service.confirm(learner, req.id, now=after)
    assert refused.value.code == "request_expired"
    assert service.expire_requests(now=after) == 1
    db.session.expire_all()
    assert db.session.get(SessionRequest, req.id).status == "expired"
    assert any("didn't confirm" in n.body for n in notes_of(mentor, "request_received"))

    # The session is now an ordinary one.
    booking, _ = booking_service.book(session.id, make_user(), now=after)
    assert booking.status == "confirmed"


def test_cancelling_the_session_made_for_a_request_declines_it_and_tells_the_learner(mentor, learner):
    from peerlearn.services import sessions as session_service

    req = ask(learner, mentor, preferred_times=[later(days=20).isoformat()], budget_paise=0)
    req, session = service.accept(mentor, req.id)
    session_service.cancel_session(mentor, session.id, reason="I am unwell that week.")
    db.session.expire_all()
    req = db.session.get(SessionRequest, req.id)
    assert req.status == "declined" and req.response_note == "I am unwell that week."
    declined = [n for n in notes_of(learner, "request_answered") if "declined" in n.title]
    assert len(declined) == 1 and "I am unwell that week." in declined[0].body
    # Nothing is left for the sweep to tell them later.
    assert service.expire_requests(now=req.expires_at + timedelta(days=1)) == 0


def test_a_lapsed_hold_can_be_taken_again_while_the_request_is_open(mentor, learner):
    req = ask(learner, mentor)
    req, _session = service.accept(mentor, req.id)
    _req, hold, _ = service.confirm(learner, req.id)
    assert booking_service.expire_holds(now=utcnow() + timedelta(minutes=20)) == 1
    _req, again, created = service.confirm(learner, req.id, now=utcnow() + timedelta(minutes=21))
    assert created and again.id != hold.id and again.status == "pending_payment"


def test_withdraw_a_pending_request(mentor, learner):
    req = ask(learner, mentor)
    notifications.mark_read(mentor.id)  # the mentor has seen it: they hear it was withdrawn
    req = service.withdraw(learner, req.id)
    assert req.status == "withdrawn"
    assert "withdrew" in notes_of(mentor, "request_received")[-1].title
    with pytest.raises(Conflict) as refused:
        service.accept(mentor, req.id)
    assert refused.value.code == "request_withdrawn"


def test_a_request_withdrawn_before_the_mentor_heard_of_it_tells_them_nothing(mentor, learner):
    """Its email was still held and its notification unread: both go, and no withdrawal notice."""
    req = ask(learner, mentor)
    [held] = emails_to(mentor)
    assert held.status == "queued" and held.send_after > utcnow()

    service.withdraw(learner, req.id)

    assert notes_of(mentor, "request_received") == []
    db.session.refresh(held)
    assert [(e.status, e.drop_reason) for e in emails_to(mentor)] == [("dropped", "withdrawn")]


def test_turning_down_an_accepted_offer_opens_the_session(mentor, learner, make_user):
    req = ask(learner, mentor, budget_paise=0)
    req, session = service.accept(mentor, req.id)
    service.withdraw(learner, req.id)
    booking, _ = booking_service.book(session.id, make_user())
    assert booking.status == "confirmed"


def test_a_learner_with_a_seat_cancels_the_booking_instead_of_withdrawing(mentor, learner):
    req = ask(learner, mentor, budget_paise=0)
    req, _session = service.accept(mentor, req.id)
    service.confirm(learner, req.id)
    with pytest.raises(Conflict) as refused:
        service.withdraw(learner, req.id)
    assert refused.value.code == "request_booked"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"preferred_times": []}, "preferred_times"),
        ({"preferred_times": ["2020-01-01T10:00"]}, "preferred_times"),
        ({"preferred_times": [later(days=d).isoformat() for d in (1, 2, 3, 4)]}, "preferred_times"),
        ({"preferred_times": ["tomorrow at noon"]}, "preferred_times"),
        ({"preferred_times": [later(days=400).isoformat()]}, "preferred_times"),
        ({"budget_paise": -100}, "budget_paise"),
        ({"budget_paise": 50}, "budget_paise"),
        ({"budget_paise": "500"}, "budget_paise"),
        ({"budget_paise": True}, "budget_paise"),
        ({"budget_paise": 10_000_001}, "budget_paise"),
        ({"topic": "Hi"}, "topic"),
        ({"topic": "x" * 121}, "topic"),
        ({"topic": None}, "topic"),
        ({"message": "x" * 2001}, "message"),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(mentor, learner, fields, field):
    with pytest.raises(ValidationError) as refused:
        ask(learner, mentor, **fields)
    assert field in refused.value.fields
    assert db.session.scalar(select(func.count(SessionRequest.id))) == 0


def test_naive_times_are_read_in_the_learners_timezone(mentor, make_user):
    learner = make_user(timezone="America/New_York")
    day = (utcnow() + timedelta(days=10)).date()
    req = ask(learner, mentor, preferred_times=[f"{day.isoformat()}T18:30"])
    [moment] = service.preferred_times(req)
    local = moment.astimezone(ZoneInfo("America/New_York"))
    assert moment.tzinfo is not None and (local.date(), local.hour, local.minute) == (day, 18, 30)
    assert moment.utcoffset() == timedelta(0)


def test_who_may_ask_whom(mentor, learner, make_user):
    with pytest.raises(ValidationError) as refused:
        ask(mentor, mentor)
    assert refused.value.code == "own_request"
    with pytest.raises(NotFound):
        ask(learner, make_user())  # not a mentor
    with pytest.raises(NotFound):
        ask(learner, make_user(role="mentor", suspended_at=utcnow()))
    # Mentors learn too: one mentor may ask another (and the request lands in the other's inbox).
    other = make_user(role="mentor")
    req = ask(other, mentor)
    assert service.requests_for(other, side="sent")[0] == [req]
    assert service.requests_for(other)[0] == [] and service.requests_for(mentor)[0] == [req]
    with pytest.raises(PermissionDenied) as refused:
        ask(make_user(unverified=True), mentor)
    assert refused.value.code == "email_unverified"
    with pytest.raises(ValidationError) as refused:
        ask(learner, mentor, session_id=5)
    assert refused.value.code == "read_only_field"


def test_at_most_three_open_requests_to_one_mentor(mentor, learner, make_user):
    for _ in range(3):
        ask(learner, mentor)
    with pytest.raises(Conflict) as refused:
        ask(learner, mentor)
    assert refused.value.code == "too_many_pending"
    ask(learner, make_user(role="mentor"))  # another mentor is fine


def test_only_the_parties_see_a_request_and_only_the_mentor_answers(mentor, learner, make_user):
    req = ask(learner, mentor)
    other_learner, other_mentor = make_user(), make_user(role="mentor")
    assert service.request_for(learner, req.id).id == service.request_for(mentor, req.id).id == req.id
    for outsider in (other_learner, other_mentor, make_user(role="admin")):
        with pytest.raises(NotFound):
            service.request_for(outsider, req.id)
    with pytest.raises(NotFound):
        service.accept(other_mentor, req.id)
    with pytest.raises(PermissionDenied):
        service.accept(learner, req.id)
    with pytest.raises(PermissionDenied):
        service.decline(learner, req.id)
    with pytest.raises(PermissionDenied):
        service.withdraw(mentor, req.id)
    with pytest.raises(NotFound):
        service.withdraw(other_learner, req.id)


def test_lists_are_the_learners_sent_and_the_mentors_inbox(mentor, learner, make_user):
    mine = ask(learner, mentor)
    ask(make_user(), mentor)
    service.withdraw(learner, mine.id)
    sent, total = service.requests_for(learner)
    assert total == 1 and sent[0].id == mine.id
    _inbox, total = service.requests_for(mentor)
    assert total == 2
    pending, total = service.requests_for(mentor, status="pending")
    assert total == 1 and pending[0].id != mine.id
    with pytest.raises(ValidationError):
        service.requests_for(mentor, status="lost")


def test_times_are_stored_as_utc_iso_strings(mentor, learner):
    moment = later(days=30)
    in_india = moment.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()  # "...T17:30:00+05:30"
    req = ask(learner, mentor, preferred_times=[in_india])
    db.session.expire_all()
    stored = db.session.get(SessionRequest, req.id).preferred_times
    assert stored == [moment.isoformat()]


def test_expiry_runs_every_five_minutes_on_the_default_queue():
    assert any(
        func.__name__ == "expire_requests" and queue == "default" and interval == 300
        for func, queue, interval in PERIODIC_JOBS
    )


def test_the_bookings_count_stays_with_one_seat(mentor, learner, make_user):
    """Accept publishes capacity 1: the learner's seat fills it."""
    req = ask(learner, mentor, budget_paise=0)
    req, session = service.accept(mentor, req.id)
    service.confirm(learner, req.id)
    db.session.expire_all()
    assert db.session.get(LearningSession, session.id).seats_taken == 1
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == session.id)) == 1


def test_followers_are_not_told_of_a_session_kept_for_one_learner(mentor, learner, make_user):
    from peerlearn.services import follows

    fan = make_user()
    follows.follow(fan, mentor.id)
    req = ask(learner, mentor)
    service.accept(mentor, req.id)
    assert notes_of(fan, "mentor_published") == []


def test_an_unverified_mentor_cannot_accept(make_user, learner):
    mentor = make_user(role="mentor", unverified=True)
    req = ask(learner, mentor)
    with pytest.raises(PermissionDenied) as refused:
        service.accept(mentor, req.id)
    assert refused.value.code == "email_unverified"
    assert db.session.get(SessionRequest, req.id).status == "pending"
