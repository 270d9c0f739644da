"""What a learner's mailbox receives, through a real SMTP server on loopback: the booking
confirmation with its receipt and calendar file, and one-click unsubscribe on the rest."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select, update

from peerlearn.extensions import db, mail
from peerlearn.models import NotificationKind, OutboundEmail, User, utcnow
from peerlearn.services import follows, notifications
from peerlearn.services import sessions as session_service
from peerlearn.tasks.email import send_email
from tests.conftest import free_port
from tests.factories import make_session, paid_booking
from tests.support.mail import Inbox

BASE = "https://learn.example.org"


@pytest.fixture
def inbox(app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(
        MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, PUBLIC_BASE_URL=BASE
    )
    mail.init_app(app)
    yield inbox
    controller.stop()


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Raman", email="asha@example.com")


@pytest.fixture
def learner(make_user):
    return make_user(name="Ravi Kumar", email="ravi@example.com", timezone="Asia/Kolkata")


@pytest.fixture
def session(mentor):
    start = (utcnow() + timedelta(days=3)).replace(hour=13, minute=30, second=0, microsecond=0)
    return make_session(mentor, title="Practical Flask", price_paise=49900, starts_at=start)


def received(inbox, to, subject_start):
    found = [
        message
        for recipients, message in inbox.messages
        if recipients == [to] and message["Subject"].startswith(subject_start)
    ]
    assert found, [m["Subject"] for _r, m in inbox.messages]
    return found


def links(html):
    return re.findall(r'href="([^"]+)"', html)


def test_booking_confirmation_carries_the_receipt_and_a_calendar_file(inbox, session, learner):
    booking, payment = paid_booking(session, learner, method="card")

    [message] = received(inbox, "ravi@example.com", "Booked: ")
    row = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "booking_confirmed"))
    assert row.status == "sent"
    assert message["Subject"] == "Booked: Practical Flask"
    assert message["From"] == "PeerLearn <no-reply@peerlearn.local>"
    assert message["To"] == "ravi@example.com"
    assert message["Message-ID"] == f"<email-{row.id}@peerlearn.local>"
    assert message["List-Unsubscribe"] is None  # a receipt can't be unsubscribed from

    assert message.get_content_type() == "multipart/mixed"
    [alternative] = [
        part for part in message.iter_parts() if part.get_content_type() == "multipart/alternative"
    ]
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    # The receipt, with the time in the learner's timezone (13:30 UTC is 7:00 PM in India).
    for fact in ("₹499", payment.receipt, "Card", payment.gateway_payment_id, "7:00 PM (Asia/Kolkata)"):
        assert fact in text and fact in html
    # Every link is absolute, on the public address.
    assert f"{BASE}/sessions/{session.id}" in text and f"{BASE}/bookings/{booking.id}" in text
    assert links(html) and all(link.startswith(BASE + "/") for link in links(html))
    assert f"{BASE}/bookings/{booking.id}" in links(html)

    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == f"peerlearn-booking-{booking.id}.ics"
    [event] = Calendar.from_ical(attachment.get_payload(decode=True)).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Practical Flask"
    assert event.decoded("DTSTART") == session.starts_at
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(event["URL"]) == f"{BASE}/sessions/{session.id}"
    assert f"Join: {BASE}/sessions/{session.id}" in str(event["DESCRIPTION"])


def test_a_repeated_send_is_the_same_message(inbox, session, learner):
    paid_booking(session, learner)
    row = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "booking_confirmed"))
    [first] = received(inbox, "ravi@example.com", "Booked: ")
    # A worker that crashed after handing the message to the server but before marking it sent
    # sends it again once its claim has lapsed: the receiving side sees the same Message-ID and
    # can drop the copy.
    row.status = "queued"
    row.claimed_at = None
    db.session.commit()
    send_email(row.id)
    first_copy, second_copy = received(inbox, "ravi@example.com", "Booked: ")
    assert first_copy is first
    assert second_copy["Message-ID"] == first["Message-ID"] == f"<email-{row.id}@peerlearn.local>"


def test_session_cancelled_email_unsubscribes_in_one_click(client, inbox, mentor, session, learner):
    paid_booking(session, learner)
    session_service.cancel_session(mentor, session.id, reason="Unwell")

    [message] = received(inbox, "ravi@example.com", "Session cancelled: ")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Unwell" in text and "₹499 is being refunded in full" in text
    assert "₹499 is being refunded in full" in html
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert unsubscribe.startswith(f"{BASE}/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and f'href="{unsubscribe}"' in html  # and in the footer
    # The refund receipt that follows is transactional: no unsubscribe.
    [refund] = received(inbox, "ravi@example.com", "Refund processed")
    assert (
        refund["List-Unsubscribe"] is None and "Unsubscribe" not in refund.get_body(("plain",)).get_content()
    )

    # What a mail client sends for RFC 8058 one-click: a POST with that body, no cookie, no CSRF token.
    response = client.post(
        urlparse(unsubscribe).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert notifications.preference(learner.id, NotificationKind.SESSION_CANCELLED) == (True, False)
    assert client.post(urlparse(unsubscribe).path).status_code == 200  # a body-less POST too

    # The next cancellation is in the app only.
    other = make_session(mentor, title="Another one", price_paise=0)
    from peerlearn.services import booking as booking_service

    booking_service.book(other.id, learner)
    session_service.cancel_session(mentor, other.id)
    assert not [m for _r, m in inbox.messages if m["Subject"] == "Session cancelled: Another one"]


def test_dev_outbox_lists_and_serves_attachments(app, client, session, learner):
    booking, _payment = paid_booking(session, learner)
    row = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "booking_confirmed"))
    filename = f"peerlearn-booking-{booking.id}.ics"
    assert filename in client.get("/dev/outbox").get_data(as_text=True)
    page = client.get(f"/dev/outbox/{row.id}").get_data(as_text=True)
    assert filename in page
    response = client.get(f"/dev/outbox/{row.id}/attachments/0")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert filename in response.headers["Content-Disposition"]
    assert Calendar.from_ical(response.data).walk("VEVENT")[0]["SUMMARY"] == "Practical Flask"
    assert client.get(f"/dev/outbox/{row.id}/attachments/1").status_code == 404


def test_a_name_with_a_line_break_from_before_the_rule_still_lets_its_emails_out(
    inbox, mentor, make_user, time_machine
):
    """Names are refused with control characters now; one stored before that (here written
    straight into the database) must not wedge every email whose subject carries it."""
    follower = make_user(email="eve@example.com")
    db.session.execute(update(User).where(User.id == follower.id).values(name="Eve\r\nBcc: x@y"))
    db.session.commit()

    follows.follow(db.session.get(User, follower.id), mentor.id)
    held = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "notice"))
    time_machine.move_to(held.send_after)  # a new follower's email waits EMAIL_HOLD_SECONDS first
    send_email(held.id)

    [message] = received(inbox, "asha@example.com", "Eve")
    assert message["Subject"] == "Eve Bcc: x@y followed you on PeerLearn"
    assert message["Bcc"] is None
    assert [recipients for recipients, _message in inbox.messages] == [["asha@example.com"]]
    row = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "notice"))
    assert row.status == "sent" and row.subject == "Eve Bcc: x@y followed you on PeerLearn"


def test_an_email_recorded_with_a_line_break_in_its_subject_is_sent(inbox, learner):
    """An email queued before subjects were cleaned goes out (cleaned) instead of failing each try."""
    row = OutboundEmail(
        user_id=learner.id,
        to_address=learner.email,
        subject="Eve\r\nBcc: x@y followed you on PeerLearn",
        template="notice",
        text_body="Eve followed you.",
        html_body="<p>Eve followed you.</p>",
    )
    db.session.add(row)
    db.session.commit()

    send_email(row.id)

    db.session.refresh(row)
    assert row.status == "sent", row.last_error
    [message] = received(inbox, "ravi@example.com", "Eve")
    assert message["Subject"] == "Eve Bcc: x@y followed you on PeerLearn"
