"""Your data: everything the platform holds about a user, as a ZIP they download, and deleting
the account.

An export is asked for (``request_export``: one at a time, EXPORTS_PER_DAY a day), built by a job
(``build_export``, run by ``tasks.your_data``) into storage, announced by email with a link to
the owner-only download, and removed EXPORT_LIFETIME later (``remove_expired_exports``). The ZIP
holds the user's own records; other people appear by display name only, never by email.

Deleting an account (``delete_account``, or an admin's ``admin_delete_account``) keeps the money
records the law requires (payments, refunds, ledger, payouts, gifts), tied to the anonymised user
so every payment still balances, and erases the rest. Its steps, each safe to repeat:

1. the user's upcoming bookings are cancelled and refunded by policy (``booking.cancel``), and
   their upcoming sessions without bookings cancelled (``sessions.cancel_session``), each in its
   own transaction as those use cases commit;
2. one transaction erases the personal fields, ends every sign-in, removes follows, notifications
   and preferences, flags the sessions that still have bookings for an admin's decision
   (``DeletionReview``) and writes the audit entry;
3. after that commit, open sockets are closed and the stored files (photo, exports) deleted.

If step 2 fails, nothing of it is written; the cancellations of step 1 stand (the user asked for
the account to go) and asking again finishes the deletion.
"""

import json
import logging
import secrets
import tempfile
import zipfile
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import events, i18n, system_texts
from ..exceptions import Conflict, NotFound, PermissionDenied, RateLimited, TokenInvalid, ValidationError
from ..extensions import db
from ..formats import format_inr
from ..links import external_url
from ..models import (
    AccountToken,
    Attendance,
    AuthSession,
    Booking,
    BookingStatus,
    ChatMessage,
    DataExport,
    DeletionReview,
    Dispute,
    ExportStatus,
    Follow,
    Gift,
    Interaction,
    LearnerRecommendations,
    LearningSession,
    LedgerEntry,
    Notification,
    NotificationKind,
    NotificationPreference,
    Payment,
    Payout,
    PayoutAccount,
    RecordingConsent,
    Refund,
    RequestStatus,
    Review,
    ReviewDecision,
    SessionRequest,
    SessionStatus,
    User,
    utcnow,
)
from . import audit, notifications, outbox, packs, passwords, realtime, sessions, storage
from . import booking as booking_service
from .avatars import avatar_key, cover_key
from .transactions import use_case

log = logging.getLogger(__name__)

EXPORT_LIFETIME = timedelta(days=7)
EXPORTS_PER_DAY = 3
# A queued export whose job has not finished by then is given up (remove_expired_exports).
STALE_EXPORT = timedelta(hours=1)
# Typed on the deletion form (and sent by the API) to show the user means it.
CONFIRMATION_WORD = "DELETE"
DELETED_NAME = "Deleted user"
# Addresses under the reserved .invalid domain can never be delivered (RFC 2606).
PLACEHOLDER_DOMAIN = "deleted.invalid"
EXPORT_EVENT = "data_export_requested"
# Bookings and sessions still to come, which deleting an account cancels or hands to an admin.
OPEN_BOOKING_STATUSES = (BookingStatus.PENDING_PAYMENT.value, BookingStatus.CONFIRMED.value)
UPCOMING_SESSION_STATUSES = (
    SessionStatus.DRAFT.value,
    SessionStatus.SCHEDULED.value,
    SessionStatus.LIVE.value,
)
ROWS_PER_FETCH = 500


def placeholder_email(user_id):
    return f"deleted-{user_id}@{PLACEHOLDER_DOMAIN}"


# ---------------------------------------------------------------------------- exports


def _link_serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="data-export-download")


def download_token(export):
    """The signed part of an export's download link: it names the export and its owner."""
    return _link_serializer().dumps([export.id, export.user_id])


def download_url(export):
    return external_url("users.download_export", export_id=export.id, token=download_token(export))


def exports_of(user, limit=10):
    return list(
        db.session.scalars(
            select(DataExport)
            .where(DataExport.user_id == user.id)
            .order_by(DataExport.created_at.desc(), DataExport.id.desc())
            .limit(limit)
        )
    )


def own_export(user, export_id):
    """``user``'s export ``export_id``; anyone else's is a 404 (its existence is not revealed)."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.user_id != user.id:
        raise NotFound(_("No such export."))
    return export


def export_for_download(user, export_id, token=None, *, now=None):
    """The ready export ``user`` may download now. A ``token`` (from the emailed link) must be
    the one signed for this export and owner; the link alone gives nothing to anyone else."""
    now = now or utcnow()
    export = own_export(user, export_id)
    if token is not None:
        try:
            signed = _link_serializer().loads(token)
        except BadSignature:
            raise TokenInvalid(_("This download link is not valid.")) from None
        if signed != [export.id, export.user_id]:
            raise TokenInvalid(_("This download link is not valid."))
    if export.status == ExportStatus.READY and export.expires_at is not None and export.expires_at <= now:
        raise Conflict(_("This export has expired. Ask for a new one."), code="export_expired")
    if export.status != ExportStatus.READY:
        messages = {
            ExportStatus.QUEUED: _("Your data is still being prepared; we'll email you when it's ready."),
            ExportStatus.FAILED: _("This export could not be prepared. Ask for a new one."),
            ExportStatus.EXPIRED: _("This export has expired. Ask for a new one."),
        }
        raise Conflict(messages[ExportStatus(export.status)], code=f"export_{export.status}")
    return export


@use_case
def request_export(user, *, origin=None, now=None):
    """Queue an export of everything about ``user``: one at a time, EXPORTS_PER_DAY a day.
    The job starts after the commit (the ``data_export_requested`` event)."""
    now = now or utcnow()
    if user.deleted_at is not None:
        raise PermissionDenied(_("This account has been deleted."), code="account_deleted")
    if db.session.scalar(
        select(DataExport.id).where(DataExport.user_id == user.id, DataExport.status == ExportStatus.QUEUED)
    ):
        raise Conflict(
            _("Your data is already being prepared; we'll email you when it's ready."), code="export_queued"
        )
    recent = db.session.scalar(
        select(func.count(DataExport.id)).where(
            DataExport.user_id == user.id, DataExport.created_at > now - timedelta(days=1)
        )
    )
    if recent >= EXPORTS_PER_DAY:
        oldest = db.session.scalar(
            select(func.min(DataExport.created_at)).where(
                DataExport.user_id == user.id, DataExport.created_at > now - timedelta(days=1)
            )
        )
        retry_after = max(60, int((oldest + timedelta(days=1) - now).total_seconds()))
        raise RateLimited(
            _("You can download your data %(count)s times a day. Try again later.", count=EXPORTS_PER_DAY),
            retry_after=retry_after,
            code="export_limit",
        )
    export = DataExport(user_id=user.id, status=ExportStatus.QUEUED.value, created_at=now)
    db.session.add(export)
    try:
        db.session.flush()
    except IntegrityError:  # a second click won the partial unique index
        db.session.rollback()
        raise Conflict(
            _("Your data is already being prepared; we'll email you when it's ready."), code="export_queued"
        ) from None
    audit.record(
        user,
        audit.DATA_EXPORT,
        target_type="user",
        target_id=user.id,
        details={"export_id": export.id},
        origin=origin,
    )
    db.session.commit()
    events.record(EXPORT_EVENT, export.id)
    return export


def build_export(export_id, *, now=None):
    """Write export ``export_id``'s ZIP to storage and email its owner. Safe to run twice: only a
    queued export is built, and only the run that marks it ready keeps its file."""
    export = db.session.get(DataExport, export_id)
    if export is None or export.status != ExportStatus.QUEUED:
        return None
    user = db.session.get(User, export.user_id)
    key = f"exports/{user.id}/{export.id}-{secrets.token_hex(8)}.zip"
    try:
        with tempfile.TemporaryFile() as spool:
            with (
                zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive,
                i18n.for_user(user),
            ):
                _write_archive(archive, user)
            size = spool.tell()
            spool.seek(0)
            storage.get_storage().put(key, spool, "application/zip")
    except Exception as exc:
        db.session.rollback()
        log.exception("export %s of user %s failed", export_id, export.user_id)
        db.session.execute(
            update(DataExport)
            .where(DataExport.id == export_id, DataExport.status == ExportStatus.QUEUED)
            .values(status=ExportStatus.FAILED.value, error=str(exc)[:500] or type(exc).__name__)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        return None
    now = now or utcnow()
    marked = db.session.execute(
        update(DataExport)
        .where(DataExport.id == export_id, DataExport.status == ExportStatus.QUEUED)
        .values(
            status=ExportStatus.READY.value,
            storage_key=key,
            size_bytes=size,
            ready_at=now,
            expires_at=now + EXPORT_LIFETIME,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if marked != 1:  # another run finished it first
        db.session.rollback()
        storage.discard(key)
        return None
    db.session.refresh(export)
    notifications.notify(
        user,
        NotificationKind.SECURITY,
        title=_l("Your data is ready to download"),
        body=_l("The file stays available for %(days)s days.", days=EXPORT_LIFETIME.days),
        email=notifications.Email(
            "data_export_ready",
            _l("Your PeerLearn data is ready to download"),
            {"download_url": download_url(export), "days": EXPORT_LIFETIME.days, "size": _size(size)},
        ),
    )
    db.session.commit()
    outbox.dispatch()
    return export


def _size(size):
    if size < 1024 * 1024:
        return f"{max(1, size // 1024)} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def remove_expired_exports(now=None):
    """Delete the files of exports past their expiry, and mark them expired. Returns how many.

    An export still queued after STALE_EXPORT (its job was lost: Redis was away when it was
    asked for, or its worker died) is marked failed, so that the user may ask again."""
    now = now or utcnow()
    db.session.execute(
        update(DataExport)
        .where(DataExport.status == ExportStatus.QUEUED, DataExport.created_at < now - STALE_EXPORT)
        .values(status=ExportStatus.FAILED.value, error="Not prepared in time.")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    due = list(
        db.session.execute(
            select(DataExport.id, DataExport.storage_key).where(
                DataExport.status == ExportStatus.READY, DataExport.expires_at <= now
            )
        )
    )
    for export_id, key in due:
        db.session.execute(
            update(DataExport)
            .where(DataExport.id == export_id, DataExport.status == ExportStatus.READY)
            .values(status=ExportStatus.EXPIRED.value, storage_key=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if key:
            storage.discard(key)
    return len(due)


# ---------------------------------------------------------------------------- the archive

# The archive's files are data: their names, keys and values stay as stored (English keys, ISO
# times, paise), the same for every reader. The notes a person reads (README.txt, the list of
# files that could not be found) are written in the owner's language.
README_FILES = (
    ("profile.json", _l("your account, profile, skills, interests, notification settings, sign-ins")),
    ("bookings.json", _l("the seats you booked, with their session and what you paid")),
    ("payments.json", _l("every payment you made (bookings and gifts), with its refunds")),
    ("gifts_sent.json", _l("gifts you sent in a session's room")),
    ("gifts_received.json", _l("gifts you received as a mentor")),
    ("sessions_taught.json", _l("the sessions you published or drafted as a mentor")),
    ("ledger.json", _l("your earnings ledger as a mentor (earnings, fees, reversals)")),
    ("payouts.json", _l("payouts of your earnings")),
    ("messages.json", _l("the chat messages you wrote in session rooms")),
    ("reviews_written.json", _l("reviews you wrote")),
    ("reviews_received.json", _l("reviews of your sessions, with your replies")),
    ("follows.json", _l("the mentors you follow, and how many follow you")),
    ("requests.json", _l("session requests you sent and received")),
    ("notifications.json", _l("your notifications")),
    ("attendance.json", _l("when you joined and left session rooms")),
    ("recording_consents.json", _l('your answers to "this session is recorded"')),
    ("disputes.json", _l("problems you reported with a booking")),
    ("files/", _l("the files you uploaded: your profile photo and your sessions' covers")),
)


def readme(user, prepared):
    """README.txt of ``user``'s export, in the language spoken now (the owner's, see build_export)."""
    title = _("Everything PeerLearn holds about you")
    width = max(len(name) for name, _text in README_FILES) + 1
    lines = [
        title,
        "=" * len(title),
        "",
        _("Prepared %(time)s (UTC) for account #%(id)s.", time=prepared.isoformat(), id=user.id),
        "",
        _("Every .json file holds a list of records (profile.json holds one). Times are in UTC (ISO 8601)."),
        _(
            "Money is given twice: in paise, the unit we store (%(paise)s), and formatted (%(formatted)s).",
            paise='{"paise": 150000}',
            formatted='"₹1,500"',
        ),
        _("Other people appear by their display name only; we never give you their email addresses."),
        "",
        *(f"{name.ljust(width)}{text}" for name, text in README_FILES),
    ]
    return "\n".join(lines) + "\n"


def _money(paise, currency="INR"):
    return {"paise": paise, "formatted": format_inr(paise), "currency": currency}


def _when(moment):
    return moment.isoformat() if moment is not None else None


def _write_list(archive, name, rows):
    """Write ``rows`` (an iterable of dicts) to ``name`` as a JSON list, one record at a time."""
    with archive.open(name, "w") as file:
        file.write(b"[")
        first = True
        for row in rows:
            file.write(b"\n  " if first else b",\n  ")
            file.write(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
            first = False
        file.write(b"\n]\n")


def _stream(query):
    return db.session.scalars(query.execution_options(yield_per=ROWS_PER_FETCH))


def _write_archive(archive, user):
    archive.writestr("README.txt", readme(user, utcnow()))
    with archive.open("profile.json", "w") as file:
        file.write(json.dumps(_profile(user), ensure_ascii=False, indent=2, sort_keys=True).encode())
    _write_list(archive, "bookings.json", _bookings(user))
    _write_list(archive, "payments.json", _payments(user))
    _write_list(archive, "gifts_sent.json", _gifts(Gift.sender_id == user.id))
    _write_list(archive, "gifts_received.json", _gifts(Gift.mentor_id == user.id, sender=True))
    _write_list(archive, "sessions_taught.json", _sessions_taught(user))
    _write_list(archive, "ledger.json", _ledger(user))
    _write_list(archive, "payouts.json", _payouts(user))
    _write_list(archive, "messages.json", _messages(user))
    _write_list(archive, "reviews_written.json", _reviews(Review.learner_id == user.id))
    _write_list(archive, "reviews_received.json", _reviews(Review.mentor_id == user.id, learner=True))
    _write_list(archive, "follows.json", _follows(user))
    _write_list(archive, "requests.json", _requests(user))
    _write_list(archive, "notifications.json", _notifications(user))
    _write_list(archive, "attendance.json", _attendance(user))
    _write_list(archive, "recording_consents.json", _consents(user))
    _write_list(archive, "disputes.json", _disputes(user))
    _write_files(archive, user)


def _profile(user):
    preferences = db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    )
    sign_ins = db.session.scalars(
        select(AuthSession).where(AuthSession.user_id == user.id).order_by(AuthSession.created_at)
    )
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "capabilities": user.capabilities,
        "timezone": user.timezone,
        "headline": user.headline,
        "bio": user.bio,
        "hourly_rate": _money(user.hourly_rate_paise),
        "skills": [skill.name for skill in user.skills],
        "interests": [skill.name for skill in user.interests],
        "created_at": _when(user.created_at),
        "email_verified_at": _when(user.email_verified_at),
        "teaching_enabled_at": _when(user.teaching_enabled_at),
        "mentor_verified_at": _when(user.mentor_verified_at),
        "last_login_at": _when(user.last_login_at),
        "has_profile_photo": bool(user.avatar_filename),
        "notification_preferences": [
            {"kind": p.kind, "in_app": p.in_app, "email": p.email} for p in preferences
        ],
        "sign_ins": [
            {
                "kind": s.kind,
                "created_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
                "expires_at": _when(s.expires_at),
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
            }
            for s in sign_ins
        ],
    }


def _session_brief(session):
    return {
        "session_id": session.id,
        "session_title": session.title,
        "mentor_name": session.mentor.name if session.mentor_id else None,
        "starts_at": _when(session.starts_at),
    }


def _bookings(user):
    for b in _stream(select(Booking).where(Booking.learner_id == user.id).order_by(Booking.id)):
        yield {
            "id": b.id,
            **_session_brief(b.session),
            "status": b.status,
            "amount": _money(b.amount_paise, b.currency),
            "booked_at": _when(b.created_at),
            "confirmed_at": _when(b.confirmed_at),
            "cancelled_at": _when(b.cancelled_at),
            "cancel_reason": b.cancel_reason,
        }


def _payments(user):
    for p in _stream(select(Payment).where(Payment.payer_id == user.id).order_by(Payment.id)):
        refunds = db.session.scalars(select(Refund).where(Refund.payment_id == p.id).order_by(Refund.id))
        yield {
            "id": p.id,
            "purpose": p.purpose,
            "booking_id": p.booking_id,
            "mentor_name": p.mentor.name,
            "amount": _money(p.amount_paise, p.currency),
            "refunded": _money(p.refunded_paise, p.currency),
            "status": p.status,
            "method": p.method,
            "receipt": p.receipt,
            "created_at": _when(p.created_at),
            "captured_at": _when(p.captured_at),
            "refunds": [
                {
                    "id": r.id,
                    "amount": _money(r.amount_paise, p.currency),
                    "status": r.status,
                    "reason": r.reason,
                    "created_at": _when(r.created_at),
                    "processed_at": _when(r.processed_at),
                }
                for r in refunds
            ],
        }


def _gifts(condition, *, sender=False):
    for g in _stream(select(Gift).where(condition).order_by(Gift.id)):
        row = {
            "id": g.id,
            "session_id": g.session_id,
            "amount": _money(g.amount_paise),
            "message": g.message,
            "status": g.status,
            "created_at": _when(g.created_at),
            "paid_at": _when(g.paid_at),
        }
        if sender:
            row["sender_name"] = g.sender.name
        yield row


def _sessions_taught(user):
    query = select(LearningSession).where(LearningSession.mentor_id == user.id).order_by(LearningSession.id)
    for s in _stream(query):
        yield {
            "id": s.id,
            "title": s.title,
            "description": s.description,
            "category": s.category,
            "level": s.level,
            "language": s.language,
            "status": s.status,
            "starts_at": _when(s.starts_at),
            "duration_minutes": s.duration_minutes,
            "capacity": s.capacity,
            "seats_taken": s.seats_taken,
            "price": _money(s.price_paise),
            "cancelled_at": _when(s.cancelled_at),
            "cancel_reason": s.cancel_reason,
        }


def _ledger(user):
    for e in _stream(select(LedgerEntry).where(LedgerEntry.mentor_id == user.id).order_by(LedgerEntry.id)):
        yield {
            "id": e.id,
            "kind": e.kind,
            "amount": _money(e.amount_paise, e.currency),
            "payment_id": e.payment_id,
            "refund_id": e.refund_id,
            "payout_id": e.payout_id,
            "session_id": e.session_id,
            "created_at": _when(e.created_at),
        }


def _payouts(user):
    for p in _stream(select(Payout).where(Payout.mentor_id == user.id).order_by(Payout.id)):
        yield {
            "id": p.id,
            "amount": _money(p.amount_paise, p.currency),
            "status": p.status,
            "reference": p.reference,
            "account": p.account_masked,
            "created_at": _when(p.created_at),
            "paid_at": _when(p.paid_at),
        }


def _rows(query):
    """Plain rows, not objects, for the long lists: nothing is loaded that is not written."""
    return db.session.execute(query.execution_options(yield_per=ROWS_PER_FETCH))


def _messages(user):
    query = (
        select(ChatMessage.id, ChatMessage.session_id, ChatMessage.body, ChatMessage.created_at)
        .where(ChatMessage.user_id == user.id)
        .order_by(ChatMessage.id)
    )
    for message_id, session_id, body, created_at in _rows(query):
        yield {"id": message_id, "session_id": session_id, "body": body, "created_at": _when(created_at)}


def _reviews(condition, *, learner=False):
    for r in _stream(select(Review).where(condition).order_by(Review.id)):
        row = {
            "id": r.id,
            "session_id": r.session_id,
            "session_title": r.session.title,
            "rating": r.rating,
            "body": r.body,
            "reply": r.reply,
            "created_at": _when(r.created_at),
            "replied_at": _when(r.replied_at),
            "hidden": r.hidden_at is not None,
        }
        if learner:
            row["learner_name"] = r.learner.name
        yield row


def _follows(user):
    following = db.session.execute(
        select(User.name, Follow.created_at)
        .join(User, User.id == Follow.mentor_id)
        .where(Follow.follower_id == user.id)
        .order_by(Follow.created_at)
    )
    for name, created_at in following:
        yield {"following": name, "since": _when(created_at)}
    followers = db.session.scalar(select(func.count()).select_from(Follow).where(Follow.mentor_id == user.id))
    yield {"followers": followers}


def _requests(user):
    query = (
        select(SessionRequest)
        .where(or_(SessionRequest.learner_id == user.id, SessionRequest.mentor_id == user.id))
        .order_by(SessionRequest.id)
    )
    for r in _stream(query):
        sent = r.learner_id == user.id
        yield {
            "id": r.id,
            "direction": "sent" if sent else "received",
            "other_person": r.mentor.name if sent else r.learner.name,
            "topic": r.topic,
            "message": r.message,
            "preferred_times": r.preferred_times,
            "budget": _money(r.budget_paise) if r.budget_paise is not None else None,
            "status": r.status,
            "response_note": r.response_note,
            "session_id": r.session_id,
            "created_at": _when(r.created_at),
            "responded_at": _when(r.responded_at),
        }


def _notifications(user):
    query = (
        select(
            Notification.id,
            Notification.kind,
            Notification.title,
            Notification.body,
            Notification.url,
            Notification.created_at,
            Notification.read_at,
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    )
    for row in _rows(query):
        yield {
            "id": row.id,
            "kind": row.kind,
            "title": row.title,
            "body": row.body,
            "url": row.url,
            "created_at": _when(row.created_at),
            "read_at": _when(row.read_at),
        }


def _attendance(user):
    query = select(Attendance).where(Attendance.user_id == user.id).order_by(Attendance.id)
    for a in _stream(query):
        yield {"session_id": a.session_id, "joined_at": _when(a.joined_at), "left_at": _when(a.left_at)}


def _consents(user):
    query = select(RecordingConsent).where(RecordingConsent.user_id == user.id)
    for c in _stream(query):
        yield {"session_id": c.session_id, "consented": c.consented, "decided_at": _when(c.decided_at)}


def _disputes(user):
    for d in _stream(select(Dispute).where(Dispute.learner_id == user.id).order_by(Dispute.id)):
        yield {
            "id": d.id,
            "booking_id": d.booking_id,
            "session_id": d.session_id,
            "reason": d.reason,
            "details": d.details,
            "status": d.status,
            "refund": _money(d.refund_paise),
            "decision_reason": d.decision_reason,
            "created_at": _when(d.created_at),
            "decided_at": _when(d.decided_at),
        }


def _write_files(archive, user):
    """The user's uploads, copied from storage one at a time. A file missing from storage is
    named in files/MISSING.txt instead of failing the export."""
    wanted = []
    if user.avatar_filename:
        wanted.append((avatar_key(user.avatar_filename), f"files/profile-photo-{user.avatar_filename}"))
    covers = db.session.execute(
        select(LearningSession.id, LearningSession.cover_filename).where(
            LearningSession.mentor_id == user.id, LearningSession.cover_filename.is_not(None)
        )
    )
    for session_id, filename in covers:
        wanted.append((cover_key(filename), f"files/covers/session-{session_id}-{filename}"))
    missing = []
    store = storage.get_storage()
    for key, name in wanted:
        try:
            archive.writestr(name, store.get(key))
        except storage.StoredFileMissing:
            missing.append(name)
    if missing:
        note = _("Not found in storage:")
        archive.writestr("files/MISSING.txt", note + "\n" + "\n".join(missing) + "\n")


# ---------------------------------------------------------------------------- deleting an account


@use_case
def delete_account(user, password, confirmation, *, origin=None, now=None):
    """The user deletes their own account, confirming with their password and the typed word."""
    if user.deleted_at is not None:
        raise Conflict(_("This account has already been deleted."), code="already_deleted")
    errors = {}
    if (confirmation or "").strip() != CONFIRMATION_WORD:
        errors["confirmation"] = [_("Type %(word)s to confirm.", word=CONFIRMATION_WORD)]
    if not password or not passwords.verify_password(user.password_hash, password):
        errors["password"] = [_("That password is not right.")]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], fields=errors)
    return _delete(user, actor=user, origin=origin, now=now)


@use_case
def admin_delete_account(admin, user_id, reason, *, origin=None, now=None):
    """An admin deletes an account (never an admin's, nor their own), with a reason, audited."""
    if admin is None or not admin.is_admin:
        raise PermissionDenied(_("Admins only."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give a reason."), fields={"reason": [_("Give a reason.")]})
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    if user.is_admin:
        raise PermissionDenied(_("Admin accounts cannot be deleted here."), code="cannot_delete_admin")
    return _delete(user, actor=admin, origin=origin, now=now, reason=reason[:500])


def _delete(user, *, actor, origin, now, reason=""):
    now = now or utcnow()
    if user.deleted_at is not None:
        raise Conflict(_("This account has already been deleted."), code="already_deleted")
    user_id = user.id
    cancelled_bookings = _cancel_bookings(user, actor, now)
    cancelled_sessions, kept = _cancel_or_keep_sessions(user, actor, now)
    user = db.session.get(User, user_id)
    # Step 2, one transaction. The conditional update makes a second deletion at once a 409.
    won = db.session.execute(
        update(User)
        .where(User.id == user_id, User.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        raise Conflict(_("This account has already been deleted."), code="already_deleted")
    db.session.refresh(user)
    if user.is_mentor:
        packs.close_mentor_packs(user_id, now=now)  # unused credits refunded (services.packs)
    files = _erase(user, now)
    ended = list(db.session.scalars(select(AuthSession.id).where(AuthSession.user_id == user_id)))
    if ended:
        db.session.execute(delete(AuthSession).where(AuthSession.id.in_(ended)))
    db.session.execute(delete(AccountToken).where(AccountToken.user_id == user_id))
    flagged = _flag_for_admins(user, kept, now)
    audit.record(
        actor,
        audit.ACCOUNT_DELETE,
        target_type="user",
        target_id=user_id,
        details={
            "by": "admin" if actor.id != user_id else "self",
            "reason": reason,
            "cancelled_bookings": cancelled_bookings,
            "cancelled_sessions": cancelled_sessions,
            "sessions_for_review": flagged,
            "signed_out": len(ended),
        },
        origin=origin,
    )
    db.session.commit()
    # Step 3: sockets carry a copy of the sign-in taken at connect; close them now.
    realtime.end_auth_sessions(ended)
    for key in files:
        storage.discard(key)
    outbox.dispatch()
    # A seat booked from another tab while the steps above ran is cancelled too: nothing can
    # book for this account any more.
    _cancel_bookings(user, actor, now)
    return user


def _cancel_bookings(user, actor, now):
    """Cancel ``user``'s seats in sessions still to come, refunded by the cancellation policy."""
    bookings = list(
        db.session.scalars(
            select(Booking)
            .join(LearningSession, LearningSession.id == Booking.session_id)
            .where(
                Booking.learner_id == user.id,
                Booking.status.in_(OPEN_BOOKING_STATUSES),
                LearningSession.starts_at > now,
            )
        )
    )
    cancelled = 0
    for booking in bookings:
        try:
            # As the learner, so the policy's refund applies, whoever asked for the deletion.
            booking_service.cancel(booking, user, reason=system_texts.ACCOUNT_DELETED, now=now)
        except Conflict:
            continue  # cancelled meanwhile, or its session started
        cancelled += 1
    return cancelled


def _cancel_or_keep_sessions(user, actor, now):
    """Cancel the user's upcoming sessions nobody booked; return (cancelled, ids with bookings)."""
    upcoming = list(
        db.session.scalars(
            select(LearningSession.id).where(
                LearningSession.mentor_id == user.id, LearningSession.status.in_(UPCOMING_SESSION_STATUSES)
            )
        )
    )
    cancelled, kept = 0, []
    for session_id in upcoming:
        booked = db.session.scalar(
            select(func.count(Booking.id)).where(
                Booking.session_id == session_id, Booking.status.in_(OPEN_BOOKING_STATUSES)
            )
        )
        status = db.session.scalar(select(LearningSession.status).where(LearningSession.id == session_id))
        if booked or status == SessionStatus.LIVE:
            kept.append(session_id)
            continue
        try:
            sessions.cancel_session(user, session_id, reason=system_texts.MENTOR_DELETED_ACCOUNT, now=now)
        except Conflict:
            continue
        cancelled += 1
    return cancelled, kept


def _erase(user, now):
    """Erase or anonymise ``user``'s personal data in the current transaction; return the storage
    keys to delete after the commit."""
    files = []
    if user.avatar_filename:
        files.append(avatar_key(user.avatar_filename))
    files.extend(
        db.session.scalars(
            select(DataExport.storage_key).where(
                DataExport.user_id == user.id, DataExport.storage_key.is_not(None)
            )
        )
    )
    user.name = DELETED_NAME
    user.email = placeholder_email(user.id)
    # No password can match a value that is not a hash.
    user.password_hash = "!deleted"  # noqa: S105 - no password hashes to this
    user.headline = ""
    user.bio = ""
    user.hourly_rate_paise = 0
    user.avatar_filename = None
    user.calendar_token = None
    user.last_login_at = None
    user.skills = []
    user.interests = []
    user.credential_epoch = user.credential_epoch + 1
    for model, column in (
        (Follow, Follow.follower_id),
        (Follow, Follow.mentor_id),
        (Notification, Notification.user_id),
        (NotificationPreference, NotificationPreference.user_id),
        (Interaction, Interaction.user_id),
        (LearnerRecommendations, LearnerRecommendations.user_id),
        (ChatMessage, ChatMessage.user_id),
        (PayoutAccount, PayoutAccount.user_id),
        (DataExport, DataExport.user_id),
    ):
        db.session.execute(
            delete(model).where(column == user.id).execution_options(synchronize_session=False)
        )
    # Requests still waiting close: the ones they sent are withdrawn, the ones they received
    # declined, and their learners told.
    waiting = db.session.scalars(
        select(SessionRequest).where(
            or_(SessionRequest.learner_id == user.id, SessionRequest.mentor_id == user.id),
            SessionRequest.status == RequestStatus.PENDING,
        )
    )
    for request in list(waiting):
        request.responded_at = now
        if request.learner_id == user.id:
            request.status = RequestStatus.WITHDRAWN.value
        else:
            request.status = RequestStatus.DECLINED.value
            request.response_note = system_texts.MENTOR_ACCOUNT_DELETED
            events.record("request_declined", request)
    # Words they wrote to others go; the records they belong to stay.
    db.session.execute(
        update(SessionRequest)
        .where(SessionRequest.learner_id == user.id)
        .values(message="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Gift)
        .where(Gift.sender_id == user.id)
        .values(message="")
        .execution_options(synchronize_session=False)
    )
    return files


def _flag_for_admins(user, session_ids, now):
    """Hand the sessions that still have bookings to the admins: a DeletionReview each, and a
    notice to every admin. Returns the session ids flagged."""
    flagged = []
    for session_id in session_ids:
        if db.session.scalar(select(DeletionReview.id).where(DeletionReview.session_id == session_id)):
            continue
        db.session.add(DeletionReview(session_id=session_id, mentor_id=user.id, flagged_at=now))
        flagged.append(session_id)
    if flagged:
        from flask import url_for

        with current_app.test_request_context():
            url = url_for("admin.deletion_reviews")
        for admin in db.session.scalars(select(User).where(User.is_admin, User.deleted_at.is_(None))):
            notifications.notify(
                admin,
                NotificationKind.SESSION_CANCELLED,
                title=_l("A deleted mentor's sessions need your decision"),
                body=_l(
                    "%(count)s upcoming session(s) with bookings: cancel with refunds, or let run.",
                    count=len(flagged),
                ),
                url=url,
            )
    return flagged


# ---------------------------------------------------------------------------- the admins' decision


def open_reviews():
    return list(
        db.session.scalars(
            select(DeletionReview)
            .where(DeletionReview.decision.is_(None))
            .order_by(DeletionReview.flagged_at)
        )
    )


def decided_reviews(limit=50):
    return list(
        db.session.scalars(
            select(DeletionReview)
            .where(DeletionReview.decision.is_not(None))
            .order_by(DeletionReview.decided_at.desc())
            .limit(limit)
        )
    )


def booking_counts(session_ids):
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Booking.session_id, func.count(Booking.id))
        .where(Booking.session_id.in_(session_ids), Booking.status.in_(OPEN_BOOKING_STATUSES))
        .group_by(Booking.session_id)
    )
    return dict(rows.all())


@use_case
def decide_review(admin, review_id, decision, *, origin=None, now=None):
    """An admin decides a deleted mentor's booked session: ``cancelled`` cancels it and refunds
    every booking in full (sessions.cancel_session); ``kept`` lets it run. Audited either way;
    of two admins deciding at once, one wins and the other gets a Conflict."""
    if admin is None or not admin.is_admin:
        raise PermissionDenied(_("Admins only."))
    now = now or utcnow()
    if decision not in (ReviewDecision.CANCELLED, ReviewDecision.KEPT):
        raise ValidationError(_("Choose cancel or keep."), fields={"decision": [_("Choose cancel or keep.")]})
    review = db.session.get(DeletionReview, review_id)
    if review is None:
        raise NotFound(_("No such session to review."))

    def decide(session=None, previous_status=None):
        won = db.session.execute(
            update(DeletionReview)
            .where(DeletionReview.id == review.id, DeletionReview.decision.is_(None))
            .values(decision=str(decision), decided_at=now, decided_by_id=admin.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            raise Conflict(_("This session has been decided already."), code="already_decided")
        audit.record(
            admin,
            audit.DELETION_REVIEW_DECIDE,
            target_type="session",
            target_id=review.session_id,
            details={"decision": str(decision), "mentor_id": review.mentor_id},
            origin=origin,
        )

    if review.decision is not None:
        raise Conflict(_("This session has been decided already."), code="already_decided")
    if decision == ReviewDecision.CANCELLED:
        sessions.cancel_session(
            admin, review.session_id, reason=system_texts.MENTOR_DELETED_ACCOUNT, now=now, on_cancelled=decide
        )
    else:
        decide()
        db.session.commit()
    db.session.refresh(review)
    return review
