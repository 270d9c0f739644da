"""One use case, one transaction: when a later step of a use case is refused or fails, nothing
of its earlier steps is kept (the edit of a session whose publishing is refused, its cover; the
payout decision whose audit entry cannot be written, and the other way round)."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import current_app
from PIL import Image
from sqlalchemy import func, select

from peerlearn import events
from peerlearn.exceptions import PermissionDenied, ValidationError
from peerlearn.extensions import db
from peerlearn.models import (
    AuditEntry,
    LearningSession,
    LedgerEntry,
    Payout,
    PayoutStatus,
    SessionStatus,
    utcnow,
)
from peerlearn.services import audit, earnings
from peerlearn.services import sessions as session_service
from tests.factories import make_session


def cover_image():
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), (20, 90, 200)).save(out, format="PNG")
    return out.getvalue()


def cover_files():
    folder = Path(current_app.config["UPLOAD_DIR"]) / "covers"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def suspended_draft(make_user):
    mentor = make_user(role="mentor", publishing_suspended_at=utcnow())  # strikes: no publishing
    draft = make_session(
        mentor, status=SessionStatus.DRAFT.value, title="Before", starts_at=utcnow() + timedelta(days=2)
    )
    return mentor, draft


def test_a_refused_publish_keeps_nothing_of_the_edit_or_the_cover(app, suspended_draft):
    mentor, draft = suspended_draft
    before = cover_files()
    with pytest.raises(PermissionDenied):
        session_service.save_session(mentor, draft.id, {"title": "After"}, cover=cover_image(), publish=True)
    db.session.expire_all()
    kept = db.session.get(LearningSession, draft.id)
    assert (kept.title, kept.status, kept.cover_filename) == ("Before", "draft", None)
    assert cover_files() == before  # the cover written for the refused save is removed


def test_the_edit_the_cover_and_the_publishing_are_saved_together(app, make_user):
    mentor = make_user(role="mentor")
    draft = make_session(
        mentor, status=SessionStatus.DRAFT.value, title="Before", starts_at=utcnow() + timedelta(days=2)
    )
    session_service.save_session(mentor, draft.id, {"title": "After"}, cover=cover_image(), publish=True)
    db.session.expire_all()
    kept = db.session.get(LearningSession, draft.id)
    assert (kept.title, kept.status) == ("After", "scheduled")
    assert kept.cover_filename in cover_files()


def test_the_edit_page_saves_nothing_when_publishing_is_refused(app, client, auth, suspended_draft):
    from tests.conftest import extract_csrf

    mentor, draft = suspended_draft
    auth.login(mentor.email)
    path = f"/teach/sessions/{draft.id}/edit"
    page = client.get(path).get_data(as_text=True)
    start = draft.starts_at.astimezone(__import__("zoneinfo").ZoneInfo(mentor.timezone))
    response = client.post(
        path,
        data={
            "csrf_token": extract_csrf(page),
            "title": "After",
            "description": "",
            "category": draft.category,
            "level": draft.level,
            "language": draft.language,
            "start_date": start.date().isoformat(),
            "start_time": start.strftime("%H:%M"),
            "duration_minutes": str(draft.duration_minutes),
            "capacity": str(draft.capacity),
            "price": "0",
            "action": "publish",
        },
    )
    assert response.status_code == 403
    assert "Publishing is suspended" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(LearningSession, draft.id).title == "Before"


@pytest.fixture
def requested_payout(make_user):
    mentor, admin = make_user(role="mentor"), make_user(role="admin")
    payout = Payout(mentor_id=mentor.id, amount_paise=10000, account_masked="asha@upi")
    db.session.add(payout)
    db.session.commit()
    return admin, payout.id


def audit_entries(payout_id):
    return db.session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.target_type == "payout", AuditEntry.target_id == payout_id
        )
    )


def payout_entries(payout_id):
    return db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.payout_id == payout_id))


def test_a_payout_is_not_marked_paid_when_its_audit_entry_fails(app, requested_payout, monkeypatch):
    admin, payout_id = requested_payout

    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        earnings.mark_payout_paid(admin, payout_id, "UTR1")
    db.session.expire_all()
    assert db.session.get(Payout, payout_id).status == PayoutStatus.REQUESTED
    assert payout_entries(payout_id) == 0


def test_an_audit_entry_is_not_kept_when_the_payout_decision_fails(app, requested_payout, monkeypatch):
    admin, payout_id = requested_payout

    def broken(*args, **kwargs):
        raise RuntimeError("the notice could not be written")

    monkeypatch.setattr(events, "record", broken)
    with pytest.raises(RuntimeError):
        earnings.mark_payout_paid(admin, payout_id, "UTR1")
    db.session.expire_all()
    assert audit_entries(payout_id) == 0
    assert db.session.get(Payout, payout_id).status == PayoutStatus.REQUESTED


@pytest.mark.parametrize("decide", ["paid", "reject"])
def test_one_call_commits_the_decision_with_its_audit_entry(app, requested_payout, decide):
    admin, payout_id = requested_payout
    origin = audit.Origin(ip_address="198.51.100.23", user_agent="Firefox")
    if decide == "paid":
        earnings.mark_payout_paid(admin, payout_id, " UTR9 ", origin=origin)
    else:
        earnings.reject_payout(admin, payout_id, "Wrong account", origin=origin)
    db.session.rollback()  # what the call committed stays
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.target_id == payout_id))
    assert entry.action == ("payout.paid" if decide == "paid" else "payout.reject")
    assert entry.details["mentor_id"] and entry.details["amount_paise"] == 10000
    assert entry.details.get("reference", entry.details.get("note")) in ("UTR9", "Wrong account")
    assert db.session.get(Payout, payout_id).status == ("paid" if decide == "paid" else "rejected")


def test_a_failed_use_case_keeps_nothing_it_wrote(app, make_user):
    from peerlearn.exceptions import Conflict
    from peerlearn.services.transactions import use_case

    mentor = make_user(role="mentor")

    @use_case
    def half_done(payout_amount):
        db.session.add(Payout(mentor_id=mentor.id, amount_paise=payout_amount))
        db.session.flush()
        raise Conflict("refused after writing")

    with pytest.raises(Conflict):
        half_done(5000)
    assert not db.session.new and not db.session.dirty  # the caller may render straight away
    assert db.session.scalar(select(func.count(Payout.id))) == 0


def test_a_refused_request_leaves_the_session_clean_for_the_page(app, make_user):
    from peerlearn.services import payout_accounts

    mentor = make_user(role="mentor")
    mentor.name = "Renamed but not saved"  # pending in the session when the refusal comes
    with pytest.raises(ValidationError):
        payout_accounts.save(mentor, {"kind": "upi", "upi_id": "not a upi id"})
    assert mentor.name != "Renamed but not saved"
