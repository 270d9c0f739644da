"""Your data: an export holds its user's records and nobody else's, one at a time and a few a
day, and expires; deleting an account erases its personal fields, ends its sign-ins, keeps the
money records balanced and hands a mentor's booked sessions to the admins, audited."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from peerlearn.exceptions import AuthenticationError, Conflict, RateLimited, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    AuthKind,
    Booking,
    ChatMessage,
    DataExport,
    DeletionReview,
    Follow,
    LearningSession,
    Notification,
    NotificationKind,
    OutboundEmail,
    Refund,
    Review,
    SessionRequest,
    User,
    utcnow,
)
from peerlearn.services import audit, auth, ledger, notifications, storage, your_data
from tests.factories import DEFAULT_PASSWORD, hold, make_session, paid_booking


@pytest.fixture
def people(make_user):
    class People:
        mentor = make_user(role="mentor", name="Meera Mentor", email="meera@example.com")
        asha = make_user(name="Asha Learner", email="asha@example.com")
        bilal = make_user(name="Bilal Other", email="bilal@example.com")
        admin = make_user(role="admin", name="Ada Admin", email="ada@example.com")

    return People


def zip_of(export):
    return zipfile.ZipFile(io.BytesIO(storage.get_storage().get(export.storage_key)))


def test_an_export_holds_the_users_data_and_nobody_elses(people):
    # Both learners booked and paid for the same session and talked in its room.
    session = make_session(people.mentor, price_paise=50000, title="Pandas in practice")
    paid_booking(session, people.asha)
    paid_booking(session, people.bilal)
    db.session.add_all(
        [
            ChatMessage(session_id=session.id, user_id=people.asha.id, body="Asha asks about groupby"),
            ChatMessage(session_id=session.id, user_id=people.bilal.id, body="Bilal's private aside"),
            Follow(follower_id=people.asha.id, mentor_id=people.mentor.id),
            Follow(follower_id=people.bilal.id, mentor_id=people.mentor.id),
        ]
    )
    db.session.commit()

    export = your_data.request_export(people.asha)  # the job runs inline here

    db.session.refresh(export)
    assert export.status == "ready" and export.size_bytes > 0
    assert export.expires_at - export.ready_at == your_data.EXPORT_LIFETIME
    archive = zip_of(export)
    names = set(archive.namelist())
    assert {"README.txt", "profile.json", "bookings.json", "payments.json", "messages.json"} <= names
    everything = "".join(archive.read(name).decode() for name in names if name.endswith((".json", ".txt")))
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "asha@example.com" and profile["name"] == "Asha Learner"
    bookings = json.loads(archive.read("bookings.json"))
    assert [b["session_title"] for b in bookings] == ["Pandas in practice"]
    assert bookings[0]["amount"] == {"paise": 50000, "formatted": "₹500", "currency": "INR"}
    assert bookings[0]["mentor_name"] == "Meera Mentor"
    payments = json.loads(archive.read("payments.json"))
    assert len(payments) == 1 and payments[0]["amount"]["paise"] == 50000
    assert [m["body"] for m in json.loads(archive.read("messages.json"))] == ["Asha asks about groupby"]
    assert json.loads(archive.read("follows.json"))[0]["following"] == "Meera Mentor"
    # Nobody else's data: not the other learner's name, email or words, nor the mentor's email.
    for foreign in ("Bilal", "bilal@example.com", "private aside", "meera@example.com"):
        assert foreign not in everything
    # The owner is told by email, with a link on the public address.
    email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.template == "data_export_ready"))
    assert email.to_address == "asha@example.com"
    assert f"http://localhost/profile/data/exports/{export.id}/download?token=" in email.text_body
    # And it is audited.
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == audit.DATA_EXPORT))
    assert entry.actor_id == people.asha.id and entry.details == {"export_id": export.id}


def test_a_mentors_export_has_their_sessions_earnings_and_uploads(people):
    session = make_session(people.mentor, price_paise=20000)
    paid_booking(session, people.asha)
    store = storage.get_storage()
    store.put("avatars/meera.webp", b"RIFF-photo", "image/webp")
    people.mentor.avatar_filename = "meera.webp"
    db.session.commit()

    export = your_data.request_export(people.mentor)

    archive = zip_of(export)
    assert archive.read("files/profile-photo-meera.webp") == b"RIFF-photo"
    kinds = {entry["kind"] for entry in json.loads(archive.read("ledger.json"))}
    assert {"mentor_earning", "platform_fee"} <= kinds
    assert json.loads(archive.read("sessions_taught.json"))[0]["id"] == session.id
    assert "asha@example.com" not in archive.read("ledger.json").decode()


def test_one_export_at_a_time_and_a_few_a_day(people):
    db.session.add(DataExport(user_id=people.asha.id, status="queued"))
    db.session.commit()
    with pytest.raises(Conflict):
        your_data.request_export(people.asha)

    for _ in range(your_data.EXPORTS_PER_DAY):
        assert your_data.request_export(people.bilal).status == "ready"
    with pytest.raises(RateLimited) as refused:
        your_data.request_export(people.bilal)
    assert refused.value.retry_after > 0
    # A day later the count starts again.
    assert your_data.request_export(people.bilal, now=utcnow() + timedelta(days=1, minutes=1))


def test_the_expiry_job_removes_expired_files(people):
    export = your_data.request_export(people.asha)
    key = export.storage_key
    assert storage.get_storage().exists(key)

    assert your_data.remove_expired_exports(now=utcnow() + timedelta(days=6)) == 0
    assert your_data.remove_expired_exports(now=utcnow() + timedelta(days=7, minutes=1)) == 1

    db.session.refresh(export)
    assert export.status == "expired" and export.storage_key is None
    assert not storage.get_storage().exists(key)
    with pytest.raises(Conflict):
        your_data.export_for_download(people.asha, export.id)


def test_an_export_whose_job_was_lost_fails_after_an_hour_so_the_user_may_ask_again(people):
    lost = DataExport(user_id=people.asha.id, status="queued", created_at=utcnow())
    db.session.add(lost)
    db.session.commit()
    your_data.remove_expired_exports(now=utcnow() + timedelta(minutes=30))
    db.session.refresh(lost)
    assert lost.status == "queued"

    your_data.remove_expired_exports(now=utcnow() + timedelta(hours=1, minutes=1))

    db.session.refresh(lost)
    assert lost.status == "failed"
    assert your_data.request_export(people.asha).status == "ready"


def test_only_the_owner_may_download_and_only_with_the_signed_token(people):
    export = your_data.request_export(people.asha)
    token = your_data.download_token(export)
    assert your_data.export_for_download(people.asha, export.id, token) == export
    from peerlearn.exceptions import NotFound, TokenInvalid

    with pytest.raises(NotFound):
        your_data.export_for_download(people.bilal, export.id, token)
    with pytest.raises(TokenInvalid):
        your_data.export_for_download(people.asha, export.id, token + "x")


# ---------------------------------------------------------------------------- deletion


def test_a_deleted_learner_cannot_sign_in_and_their_personal_fields_are_gone(people):
    upcoming = make_session(people.mentor, price_paise=40000)
    booking, payment = paid_booking(upcoming, people.asha)
    past = make_session(people.mentor, price_paise=30000, starts_at=utcnow() + timedelta(hours=30))
    past_booking, _ = paid_booking(past, people.asha)
    hold(past)
    db.session.add(
        Review(
            booking_id=past_booking.id,
            session_id=past.id,
            mentor_id=people.mentor.id,
            learner_id=people.asha.id,
            rating=5,
            body="Clear and patient.",
        )
    )
    db.session.add(Follow(follower_id=people.asha.id, mentor_id=people.mentor.id))
    db.session.commit()
    token = auth.start_session(people.asha, AuthKind.API).raw_token
    asha_id = people.asha.id

    your_data.delete_account(people.asha, DEFAULT_PASSWORD, "DELETE")

    db.session.expire_all()
    asha = db.session.get(User, asha_id)
    assert asha.deleted_at is not None
    assert asha.name == "Deleted user" and asha.email == f"deleted-{asha_id}@deleted.invalid"
    assert asha.bio == "" and asha.avatar_filename is None and asha.skills == []
    # It cannot sign in (the generic answer), nor use its API token.
    for email in ("asha@example.com", asha.email):
        with pytest.raises(AuthenticationError, match="Wrong email or password"):
            auth.authenticate(email, DEFAULT_PASSWORD)
    assert auth.user_for_token(token, AuthKind.API) is None
    assert db.session.scalar(select(Follow).where(Follow.follower_id == asha_id)) is None
    # The upcoming booking was cancelled and refunded by policy; the money records stay.
    assert db.session.get(Booking, booking.id).status == "cancelled"
    refund = db.session.scalar(select(Refund).where(Refund.payment_id == payment.id))
    assert refund.amount_paise == 40000
    assert ledger.all_payments_balance() == []
    # The review stays, under "Deleted user".
    review = db.session.scalar(select(Review).where(Review.booking_id == past_booking.id))
    assert review.body == "Clear and patient." and review.learner.name == "Deleted user"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == audit.ACCOUNT_DELETE))
    assert entry.actor_id == asha_id and entry.target_id == asha_id
    # Nothing more is written to it (a refund completing later): no notification, no email.
    assert notifications.notify(asha, NotificationKind.REFUND_PROCESSED, title="Refunded") == (None, None)
    assert entry.details["cancelled_bookings"] == 1 and entry.details["by"] == "self"


def test_deleting_needs_the_password_and_the_typed_word(people):
    with pytest.raises(ValidationError) as refused:
        your_data.delete_account(people.asha, "not-my-password", "delete")
    assert set(refused.value.fields) == {"password", "confirmation"}
    db.session.expire_all()
    assert db.session.get(User, people.asha.id).deleted_at is None
    your_data.delete_account(people.asha, DEFAULT_PASSWORD, " DELETE ")
    with pytest.raises(Conflict):
        your_data.delete_account(people.asha, DEFAULT_PASSWORD, "DELETE")


def test_a_deleted_mentors_booked_sessions_go_to_the_admins(people):
    booked = make_session(people.mentor, price_paise=60000, title="Booked one")
    _booking, payment = paid_booking(booked, people.asha)
    empty = make_session(people.mentor, title="Nobody came")
    draft = make_session(people.mentor, status="draft", title="Never published")
    mentor_id = people.mentor.id

    asked = SessionRequest(
        learner_id=people.bilal.id,
        mentor_id=mentor_id,
        topic="Window functions",
        expires_at=utcnow() + timedelta(days=5),
    )
    db.session.add(asked)
    db.session.commit()

    your_data.delete_account(people.mentor, DEFAULT_PASSWORD, "DELETE")

    db.session.expire_all()
    # A request waiting for the mentor is declined, and its learner told.
    assert db.session.get(SessionRequest, asked.id).status == "declined"
    assert db.session.scalar(select(Notification).where(Notification.user_id == people.bilal.id))
    assert db.session.get(LearningSession, empty.id).status == "cancelled"
    assert db.session.get(LearningSession, draft.id).status == "cancelled"
    assert db.session.get(LearningSession, booked.id).status == "scheduled"
    review = db.session.scalar(select(DeletionReview))
    assert review.session_id == booked.id and review.mentor_id == mentor_id and review.decision is None
    notice = db.session.scalar(select(Notification).where(Notification.user_id == people.admin.id))
    assert notice.url == "/admin/deleted-mentors"
    assert ledger.all_payments_balance() == []

    your_data.decide_review(people.admin, review.id, "cancelled")

    db.session.expire_all()
    assert db.session.get(LearningSession, booked.id).status == "cancelled"
    assert db.session.scalar(select(Refund).where(Refund.payment_id == payment.id)).amount_paise == 60000
    assert ledger.all_payments_balance() == []
    decided = db.session.scalar(select(AuditEntry).where(AuditEntry.action == audit.DELETION_REVIEW_DECIDE))
    assert decided.actor_id == people.admin.id and decided.details["decision"] == "cancelled"
    with pytest.raises(Conflict):
        your_data.decide_review(people.admin, review.id, "kept")


def test_an_admin_may_delete_an_account_and_it_is_audited(people):
    your_data.admin_delete_account(people.admin, people.bilal.id, "Asked by email")
    db.session.expire_all()
    assert db.session.get(User, people.bilal.id).name == "Deleted user"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == audit.ACCOUNT_DELETE))
    assert entry.actor_id == people.admin.id and entry.details["reason"] == "Asked by email"


def test_the_notes_in_an_export_are_in_its_owners_language_and_the_data_is_not(people):
    people.asha.locale = "hi"
    people.asha.avatar_filename = "gone.webp"  # its file is not in storage any more
    people.bilal.avatar_filename = "gone-too.webp"
    db.session.commit()

    hindi = zip_of(your_data.request_export(people.asha))
    readme = hindi.read("README.txt").decode()
    assert readme.startswith("PeerLearn के पास आपके बारे में जो कुछ है\n")
    assert f"अकाउंट #{people.asha.id} के लिए " in readme
    assert "bookings.json" in readme and "आपकी बुक की गई सीटें" in readme
    assert "the seats you booked" not in readme
    assert hindi.read("files/MISSING.txt").decode() == ("स्टोरेज में नहीं मिलीं:\nfiles/profile-photo-gone.webp\n")
    # The data itself stays as stored: English keys, the same for every reader.
    assert json.loads(hindi.read("profile.json"))["name"] == "Asha Learner"

    english = zip_of(your_data.request_export(people.bilal))
    readme = english.read("README.txt").decode()
    assert readme.startswith("Everything PeerLearn holds about you\n====")
    assert "bookings.json           the seats you booked, with their session and what you paid\n" in readme
    assert english.read("files/MISSING.txt").decode().startswith("Not found in storage:\n")
