"""Sentences PeerLearn stores in English (peerlearn/system_texts.py): every one has its Hindi, a
Hindi reader's pages, emails and notifications show it in Hindi (a person's own words kept as
written), an English reader sees the English as before, and the API answers the stored English."""

import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from peerlearn import i18n, system_texts
from peerlearn.extensions import db
from peerlearn.models import Booking, Notification, OutboundEmail, Recording, WebhookEndpoint, utcnow
from peerlearn.services import refunds
from peerlearn.services import sessions as session_service
from tests.conftest import AuthActions
from tests.factories import UserFactory, make_session, paid_booking
from tests.support import i18n_audit

DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def test_every_stored_sentence_has_hindi_with_the_same_placeholders():
    catalog = i18n.load_catalog("hi")
    missing = [
        text for text in system_texts.registry() if not (catalog.get(text) and catalog.get(text).string)
    ]
    assert missing == []
    for text in system_texts.registry():
        hindi = catalog.get(text).string
        assert DEVANAGARI.search(hindi), text
        assert set(i18n_audit.PLACEHOLDERS.findall(hindi)) == set(i18n_audit.PLACEHOLDERS.findall(text)), text


def test_the_waiting_pages_script_knows_every_step_of_the_composing_job():
    assert set(system_texts.RECORDING_STEPS) <= set(i18n.js_messages())


def test_the_audit_finds_a_stored_sentence_written_as_a_literal(tmp_path):
    service = tmp_path / "service.py"
    service.write_text(
        "def cancel(booking, recording, words):\n"
        "    refunds.reserve_refund(payment, 100, key='k', reason='Seat given back')\n"
        "    recording.progress_step = 'Mixing audio'\n"
        "    refunds.reserve_refund(payment, 100, key='k', reason=system_texts.BOOKING_CANCELLED)\n"
        "    booking_service.cancel(booking, actor, reason=words)\n"
        "    recording.progress_step = system_texts.STEP_READY\n"
    )
    assert [(f.line, f.text) for f in i18n_audit.python_findings(service)] == [
        (2, "Seat given back"),
        (3, "Mixing audio"),
    ]


def test_a_sentence_is_translated_a_pattern_keeps_the_persons_words_and_other_text_is_left(app):
    by_admin = system_texts.fill(system_texts.BY_AN_ADMIN, reason="50% back <by phone>")
    dispute = system_texts.fill(system_texts.DISPUTE, number=12, reason="Audio: never worked")
    assert by_admin == "By an admin: 50% back <by phone>"  # stored as it always was
    with app.test_request_context(), force_locale("hi"):
        assert system_texts.translate(system_texts.BOOKING_CANCELLED) == "बुकिंग रद्द"
        assert system_texts.translate(by_admin) == "एडमिन द्वारा: 50% back <by phone>"
        assert system_texts.translate(dispute) == "विवाद #12: Audio: never worked"
        assert system_texts.translate("I have an exam that day") == "I have an exam that day"
        assert system_texts.translate("") == ""
    with app.test_request_context(), force_locale("en"):
        for text in [*system_texts.registry(), by_admin, dispute]:
            assert system_texts.translate(text) == text


def test_an_audit_entrys_stored_reason_reads_in_the_admins_language(app):
    from peerlearn.blueprints.admin.audit_text import audit_sentences

    entry = SimpleNamespace(action="recording.delete", details={"reason": system_texts.DELETED_BY_MENTOR})
    typed = SimpleNamespace(action="recording.delete", details={"reason": "Asked by the learners"})
    with app.test_request_context(), force_locale("hi"):
        assert any("मेंटर ने हटा दी" in sentence for sentence in audit_sentences(entry))
        assert any("Asked by the learners" in sentence for sentence in audit_sentences(typed))
    with app.test_request_context(), force_locale("en"):
        assert "Reason: deleted by the mentor." in audit_sentences(entry)


def _paid_booking(learner_locale):
    mentor = UserFactory(role="mentor", name="Asha Mentor")
    learner = UserFactory(name="Lena Learner", locale=learner_locale)
    session = make_session(mentor, title="Graph algorithms", price_paise=10_000)
    booking, payment = paid_booking(session, learner)
    return learner, booking, payment


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("hi", "₹100: एक सीट के लिए दो बार भुगतान हुआ"), ("en", "₹100: Paid twice for one seat")],
)
def test_the_learners_booking_page_gives_each_refunds_reason_in_their_language(client, locale, shown):
    learner, booking, payment = _paid_booking(locale)
    refunds.reserve_refund(payment, 10_000, key=f"twice-{payment.id}", reason=system_texts.PAID_TWICE)
    db.session.commit()
    AuthActions(client).login(learner.email)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert re.findall(r"data-refund-reason>([^<]*)<", page) == [shown]


def _cancelled_by_a_departing_mentor(learner_locale):
    mentor = UserFactory(role="mentor", name="Asha Mentor")
    learner = UserFactory(name="Lena Learner", locale=learner_locale)
    session = make_session(mentor, title="Graph algorithms", price_paise=10_000)
    booking, _payment = paid_booking(session, learner)
    # As deleting a mentor's account cancels their sessions (services/your_data.py).
    session_service.cancel_session(mentor, session.id, reason=system_texts.MENTOR_DELETED_ACCOUNT)
    email = db.session.scalar(
        select(OutboundEmail).where(
            OutboundEmail.user_id == learner.id, OutboundEmail.template == "cancellation"
        )
    )
    notification = db.session.scalar(
        select(Notification).where(
            Notification.user_id == learner.id, Notification.kind == "session_cancelled"
        )
    )
    return learner, booking, email, notification


def test_a_hindi_learner_reads_a_mentors_cancellation_in_hindi(client):
    learner, booking, email, notification = _cancelled_by_a_departing_mentor("hi")

    assert db.session.get(Booking, booking.id).cancel_reason == "Session cancelled by the mentor"  # stored
    for text in (email.text_body, email.html_body, notification.body):
        assert "मेंटर ने अपना अकाउंट हटा दिया" in text
        assert "The mentor deleted their account" not in text
    assert DEVANAGARI.search(email.subject) and DEVANAGARI.search(notification.title)
    AuthActions(client).login(learner.email)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "मेंटर ने सेशन रद्द किया" in page and "“मेंटर ने अपना अकाउंट हटा दिया”" in page
    assert "Session cancelled by the mentor" not in page


def test_an_english_learner_reads_the_same_cancellation_as_before(client):
    learner, booking, email, notification = _cancelled_by_a_departing_mentor("en")

    for text in (email.text_body, email.html_body, notification.body):
        assert "Reason: The mentor deleted their account" in text
    AuthActions(client).login(learner.email)
    page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "Session cancelled by the mentor" in page and "“The mentor deleted their account”" in page


def test_an_admins_refund_keeps_their_words_under_a_hindi_prefix_and_the_api_answers_english(
    client, make_user, api_token
):
    admin = make_user(role="admin", email="admin@example.com", locale="hi")
    _learner, _booking, payment = _paid_booking("en")

    headers = {"Authorization": f"Bearer {api_token(admin.email)}"}
    answer = client.post(
        f"/api/admin/payments/{payment.id}/refund/",
        json={"amount_paise": 2_000, "reason": "Asked twice by phone", "idempotency_key": "phone-call-1"},
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["data"]["refund"]["reason"] == "By an admin: Asked twice by phone"

    AuthActions(client).login(admin.email)
    page = client.get(f"/admin/payments/{payment.id}").get_data(as_text=True)
    assert "एडमिन द्वारा: Asked twice by phone" in page
    assert "By an admin:" not in page
    admin.locale = "en"
    db.session.commit()
    english = client.get(f"/admin/payments/{payment.id}").get_data(as_text=True)
    assert "By an admin: Asked twice by phone" in english


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("hi", "3 में से हिस्सा 2 तैयार हो रहा है: 40%"), ("en", "Composing part 2 of 3: 40%")],
)
def test_a_recordings_progress_step_is_in_the_readers_language_and_english_over_the_api(
    client, locale, shown
):
    mentor = UserFactory(role="mentor", locale=locale)
    session = make_session(mentor)
    step = system_texts.fill(system_texts.STEP_COMPOSING, number=2, count=3)
    db.session.add(Recording(session_id=session.id, status="processing", progress=40, progress_step=step))
    db.session.commit()

    AuthActions(client).login(mentor.email)
    page = client.get(f"/sessions/{session.id}/recording").get_data(as_text=True)
    assert shown in page
    api = client.get(f"/api/sessions/{session.id}/recording/").get_json()
    assert api["data"]["progress_step"] == "Composing part 2 of 3"


@pytest.mark.parametrize(
    ("locale", "shown"),
    [("hi", "तय समय तक रखी गई, फिर हटा दी गई।"), ("en", "Kept for the retention period, then removed.")],
)
def test_why_the_system_deleted_a_recording_is_in_the_readers_language(client, locale, shown):
    mentor = UserFactory(role="mentor", locale=locale)
    session = make_session(mentor)
    db.session.add(
        Recording(
            session_id=session.id,
            status="deleted",
            deleted_at=utcnow(),
            delete_reason=system_texts.DELETED_AT_RETENTION,
        )
    )
    db.session.commit()

    AuthActions(client).login(mentor.email)
    response = client.get(f"/sessions/{session.id}/recording")
    assert response.status_code == 410
    assert shown in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("hi", "लगातार 20 डिलीवरी विफल होने के बाद बंद किया गया।"),
        ("en", "Disabled after 20 failed deliveries in a row."),
    ],
)
def test_a_disabled_webhooks_reason_is_in_its_owners_language_and_english_over_the_api(
    client, api_token, locale, shown
):
    owner = UserFactory(role="mentor", locale=locale)
    endpoint = WebhookEndpoint(
        user_id=owner.id,
        url="https://hooks.example.com/peerlearn",
        secret="s" * 40,
        event_types=["booking.created"],
        enabled=False,
        disabled_at=utcnow(),
        disabled_reason=system_texts.fill(system_texts.WEBHOOK_DISABLED_AFTER_FAILURES, limit=20),
    )
    db.session.add(endpoint)
    db.session.commit()

    AuthActions(client).login(owner.email)
    page = client.get(f"/settings/webhooks/{endpoint.id}").get_data(as_text=True)
    assert shown in page
    headers = {"Authorization": f"Bearer {api_token(owner.email)}"}
    api = client.get(f"/api/webhooks/{endpoint.id}/", headers=headers).get_json()
    assert api["data"]["disabled_reason"] == "Disabled after 20 failed deliveries in a row."
