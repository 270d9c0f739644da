"""Notifications: recorded with the change that causes them, shown live and by email per the
user's preferences.

``notify()`` is the one way in. In the caller's transaction it writes the ``Notification`` (if the
user wants this kind in the app) and its email (if they want it by email; receipts and security
mail always go), and stages both on the outbox, which hands them on after the commit: the
notification to the user's sockets as a ``notification`` event, the email to the ``emails`` queue.

Social notices are kept from flooding anyone (docs/notifications.md#email-caps). One about
something that can be undone carries a ``collapse_key``: a repeat within ``REPEAT_WINDOW`` adds no
notification and no email, its email waits ``EMAIL_HOLD_SECONDS`` before it may go, and
``retract()`` drops it and the unread notification when the thing is undone. When a social email
is about to be sent, ``cap_reason()`` counts in the database what the recipient was sent in the
last hour, in all and from the same sender, and an email over a cap is dropped.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import Conflict, ValidationError
from ..extensions import db
from ..links import external_url
from ..models import (
    TRANSACTIONAL_KINDS,
    LearningSession,
    Notification,
    NotificationKind,
    NotificationPreference,
    SessionStatus,
    User,
    utcnow,
)
from ..models.email import DropReason, EmailStatus, OutboundEmail
from ..models.notification import CAPPED_EMAIL_KINDS
from . import mail, outbox


# A repeat of the same thing (the same person following again) within this long tells no one again.
def follow_key(follower_id, mentor_id):
    """What a new-follower notice is about: one follower following one mentor."""
    return f"follow:{follower_id}:{mentor_id}"


def request_key(request_id):
    """What a mentor's notice of a new session request is about."""
    return f"request:{request_id}"


REPEAT_WINDOW = timedelta(hours=24)
CAP_WINDOW = timedelta(hours=1)

# What each kind is called on the preferences page.
KIND_LABELS = {
    NotificationKind.BOOKING_CONFIRMED: "Booking confirmations and receipts",
    NotificationKind.BOOKING_CANCELLED: "Bookings cancelled",
    NotificationKind.PAYMENT_RECEIVED: "Payments received",
    NotificationKind.PAYMENT_FAILED: "Payments that failed",
    NotificationKind.SESSION_REMINDER: "Reminders before a session",
    NotificationKind.SESSION_STARTED: "A booked session has started",
    NotificationKind.SESSION_CANCELLED: "A booked session was cancelled",
    NotificationKind.SESSION_RESCHEDULED: "A booked session has a new time",
    NotificationKind.REFUND_PROCESSED: "Refunds processed",
    NotificationKind.GIFT_RECEIVED: "Gifts received",
    NotificationKind.NEW_REVIEW: "New reviews of your sessions",
    NotificationKind.NEW_FOLLOWER: "New followers",
    NotificationKind.MENTOR_PUBLISHED: "Mentors you follow publish a session",
    NotificationKind.REQUEST_RECEIVED: "Session requests received",
    NotificationKind.REQUEST_ANSWERED: "Your session requests answered",
    NotificationKind.PAYOUT_PAID: "Payouts paid",
    NotificationKind.SESSION_NOT_HELD: "A session was not held (refunds and strikes)",
    NotificationKind.DISPUTE_UPDATE: "Reported problems and their decisions",
    NotificationKind.SECURITY: "Account security",
}

# The notification center's views: every kind is in exactly one group.
KIND_GROUPS = {
    "bookings": (
        "Bookings & payments",
        (
            NotificationKind.BOOKING_CONFIRMED,
            NotificationKind.BOOKING_CANCELLED,
            NotificationKind.PAYMENT_RECEIVED,
            NotificationKind.PAYMENT_FAILED,
            NotificationKind.REFUND_PROCESSED,
            NotificationKind.GIFT_RECEIVED,
            NotificationKind.PAYOUT_PAID,
            NotificationKind.DISPUTE_UPDATE,
        ),
    ),
    "sessions": (
        "Sessions",
        (
            NotificationKind.SESSION_REMINDER,
            NotificationKind.SESSION_STARTED,
            NotificationKind.SESSION_CANCELLED,
            NotificationKind.SESSION_RESCHEDULED,
            NotificationKind.SESSION_NOT_HELD,
        ),
    ),
    "community": (
        "Community",
        (
            NotificationKind.NEW_REVIEW,
            NotificationKind.NEW_FOLLOWER,
            NotificationKind.MENTOR_PUBLISHED,
            NotificationKind.REQUEST_RECEIVED,
            NotificationKind.REQUEST_ANSWERED,
        ),
    ),
    "account": ("Account", (NotificationKind.SECURITY,)),
}


@dataclass
class Email:
    """The email that goes with a notification: a template under templates/emails/ and its context."""

    template: str
    subject: str
    context: dict = field(default_factory=dict)
    attachments: list = field(default_factory=list)  # [(filename, content_type, bytes)]


def preference(user_id, kind):
    """(in_app, email) for this user and kind; defaults on; email always on for transactional kinds."""
    row = db.session.get(NotificationPreference, (user_id, str(kind)))
    in_app = row.in_app if row is not None else True
    email = row.email if row is not None else True
    if kind in TRANSACTIONAL_KINDS:
        email = True
    return in_app, email


def preferences(user_id):
    """Every kind with its label and the user's choice, in display order."""
    rows = {
        row.kind: row
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
    }
    result = []
    for kind in NotificationKind:
        row = rows.get(kind.value)
        result.append(
            {
                "kind": kind.value,
                "label": KIND_LABELS[kind],
                "in_app": row.in_app if row is not None else True,
                "email": True if kind in TRANSACTIONAL_KINDS else (row.email if row is not None else True),
                "email_locked": kind in TRANSACTIONAL_KINDS,
            }
        )
    return result


def set_preference(user_id, kind, *, in_app=None, email=None):
    """Change one kind's choice. Email for transactional kinds cannot be turned off."""
    try:
        kind = NotificationKind(kind)
    except ValueError:
        raise ValidationError("Unknown notification kind.", fields={"kind": ["Unknown kind."]}) from None
    if email is False and kind in TRANSACTIONAL_KINDS:
        raise ValidationError(
            "Receipts and security emails can't be turned off.",
            fields={"email": ["Always on for this kind."]},
        )
    row = db.session.get(NotificationPreference, (user_id, kind.value))
    if row is None:
        row = NotificationPreference(user_id=user_id, kind=kind.value, in_app=True, email=True)
        db.session.add(row)
    if in_app is not None:
        row.in_app = bool(in_app)
    if email is not None:
        row.email = bool(email)
    db.session.commit()
    return row


def set_preferences(user_id, choices):
    """Change several kinds at once: ``{kind: {"in_app": bool, "email": bool}}`` (either key may
    be left out). Everything is checked first; one refusal and nothing is written."""
    checked = {}
    for kind, fields in choices.items():
        try:
            kind = NotificationKind(kind)
        except ValueError:
            raise ValidationError(
                f"Unknown notification kind: {kind}.", fields={str(kind): ["Unknown kind."]}
            ) from None
        if not isinstance(fields, dict) or not fields or set(fields) - {"in_app", "email"}:
            raise ValidationError(
                "Give in_app and/or email for each kind.", fields={kind.value: ["Expected in_app, email."]}
            )
        for name, value in fields.items():
            if not isinstance(value, bool):
                raise ValidationError(
                    f"{name} must be true or false.", fields={kind.value: [f"{name} must be a boolean."]}
                )
        if fields.get("email") is False and kind in TRANSACTIONAL_KINDS:
            raise ValidationError(
                "Receipts and security emails can't be turned off.",
                fields={kind.value: ["Email is always on for this kind."]},
            )
        checked[kind] = fields
    for kind, fields in checked.items():
        row = db.session.get(NotificationPreference, (user_id, kind.value))
        if row is None:
            row = NotificationPreference(user_id=user_id, kind=kind.value, in_app=True, email=True)
            db.session.add(row)
        if "in_app" in fields:
            row.in_app = fields["in_app"]
        if "email" in fields and kind not in TRANSACTIONAL_KINDS:
            row.email = fields["email"]
    try:
        db.session.commit()
    except IntegrityError:  # the same settings saved at the same moment elsewhere
        db.session.rollback()
        raise Conflict("Your settings were being changed elsewhere; please try again.") from None


def notify(user, kind, *, title, body="", url="", data=None, email=None, sender=None, collapse_key=None):
    """Record what ``user`` should hear about ``kind`` in the current transaction (see the module
    docstring). ``sender`` is the person whose action this tells of (the caps count by them);
    ``collapse_key`` names what it is about, when that can be repeated or undone.

    With a ``collapse_key``, a notification about it from the last ``REPEAT_WINDOW`` is updated
    (while unread) instead of a new one added, and no email goes when one about it is still
    waiting, was sent in that window, or that notification was read; a new email waits
    ``EMAIL_HOLD_SECONDS``.
    Returns ``(notification or None, outbound email or None)``; the caller commits."""
    kind = NotificationKind(kind)
    in_app, by_email = preference(user.id, kind)
    now = utcnow()
    note = message = None
    fields = {"title": title[:200], "body": body[:1000], "url": url[:500], "data": data or {}}
    earlier = _recent_note(user.id, collapse_key, now) if collapse_key else None
    # Seen in the app already: a repeat is no news, by email either.
    seen = earlier is not None and earlier.read_at is not None
    if in_app:
        if earlier is None:
            note = Notification(user_id=user.id, kind=kind.value, collapse_key=collapse_key, **fields)
            db.session.add(note)
            outbox.stage(note)
        elif earlier.read_at is None:  # still unread: it says the latest, and stays one notification
            for name, value in fields.items():
                setattr(earlier, name, value)
    repeat = collapse_key is not None and (seen or _recent_email(user.id, collapse_key, now))
    if email is not None and by_email and not repeat:
        message = mail.compose(
            user,
            email.template,
            email.subject,
            notification_kind=kind.value,
            attachments=email.attachments,
            unsubscribe_url=None if kind in TRANSACTIONAL_KINDS else unsubscribe_url(user, kind),
            **email.context,
        )
        label_email(message, kind, sender=sender, collapse_key=collapse_key, now=now)
    return note, message


def label_email(message, kind, *, sender=None, collapse_key=None, now=None):
    """Mark a composed email with what the caps and ``retract()`` go by."""
    message.kind = str(kind)
    message.sender_id = getattr(sender, "id", sender)
    message.collapse_key = collapse_key
    if collapse_key:
        hold = current_app.config["EMAIL_HOLD_SECONDS"]
        message.send_after = (now or utcnow()) + timedelta(seconds=hold) if hold > 0 else None
    return message


def _recent_note(user_id, collapse_key, now):
    return db.session.scalar(
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.collapse_key == collapse_key,
            Notification.created_at >= now - REPEAT_WINDOW,
        )
        .order_by(Notification.id.desc())
        .limit(1)
    )


def _recent_email(user_id, collapse_key, now):
    """Whether an email about ``collapse_key`` is waiting to go, or went in the repeat window."""
    return (
        db.session.scalar(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.user_id == user_id,
                OutboundEmail.collapse_key == collapse_key,
                or_(
                    OutboundEmail.status == EmailStatus.QUEUED.value,
                    (OutboundEmail.status == EmailStatus.SENT.value)
                    & (OutboundEmail.created_at >= now - REPEAT_WINDOW),
                ),
            )
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True)
class Retracted:
    """What ``retract()`` undid, and whether the recipient had already heard of the thing."""

    emails_dropped: int
    notes_removed: list
    already_told: bool


def retract(user_id, collapse_key):
    """In the caller's transaction: the thing ``collapse_key`` names was undone (an unfollow, a
    withdrawn request). Its emails still waiting are dropped and its unread notifications removed;
    read ones stay, as history. ``already_told`` says whether ``user_id`` had heard of it (an
    email sent or being sent, or the notification read), so the caller tells of the undoing only
    then. After the commit, ``announce_removed`` brings the user's open pages up to date."""
    dropped = drop_waiting_email(user_id, collapse_key, DropReason.WITHDRAWN)
    removed = list(
        db.session.scalars(
            delete(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.collapse_key == collapse_key,
                Notification.read_at.is_(None),
            )
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    emailed = db.session.scalar(
        select(OutboundEmail.id)
        .where(
            OutboundEmail.user_id == user_id,
            OutboundEmail.collapse_key == collapse_key,
            or_(
                OutboundEmail.status == EmailStatus.SENT.value,
                (OutboundEmail.status == EmailStatus.QUEUED.value) & OutboundEmail.claimed_at.is_not(None),
            ),
        )
        .limit(1)
    )
    seen = db.session.scalar(
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.collapse_key == collapse_key)
        .limit(1)
    )
    return Retracted(dropped, removed, emailed is not None or seen is not None)


def drop_waiting_email(user_id, collapse_key, reason):
    """In the caller's transaction: emails about ``collapse_key`` still waiting to go (no send job
    holds them) are dropped for ``reason``. Returns how many."""
    return db.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.user_id == user_id,
            OutboundEmail.collapse_key == collapse_key,
            OutboundEmail.status == EmailStatus.QUEUED.value,
            OutboundEmail.claimed_at.is_(None),
        )
        .values(status=EmailStatus.DROPPED.value, drop_reason=DropReason(reason).value)
        .execution_options(synchronize_session=False)
    ).rowcount


def announce_removed(user_id, retracted):
    """After the commit: open bells and lists drop the removed notifications (sent as
    ``notifications:read`` with their ids, which every open page already follows)."""
    if not retracted.notes_removed:
        return
    from . import realtime

    realtime.emit(
        "notifications:read",
        {"unread": unread_count(user_id), "ids": sorted(retracted.notes_removed)},
        room=realtime.user_room(user_id),
    )


def _sent_within_hour(email, now):
    """Capped-kind emails to ``email``'s recipient claimed for sending in the last hour (sent, or
    being sent now), other than ``email`` itself."""
    return select(func.count(OutboundEmail.id)).where(
        OutboundEmail.user_id == email.user_id,
        OutboundEmail.id != email.id,
        OutboundEmail.kind.in_([kind.value for kind in CAPPED_EMAIL_KINDS]),
        OutboundEmail.status.in_([EmailStatus.QUEUED.value, EmailStatus.SENT.value]),
        OutboundEmail.claimed_at >= now - CAP_WINDOW,
    )


def cap_reason(email, now):
    """Why ``email`` must not be sent now (a ``DropReason``), or None. Called by the send job in
    the transaction that claims the email, before that commits: the recipient's row is locked
    (PostgreSQL; SQLite has one writer at a time, and the claim made this transaction it), so
    send jobs for one recipient on any number of workers count one after another, each seeing
    the claims committed before it."""
    if email.user_id is None or email.kind not in CAPPED_EMAIL_KINDS:
        return None
    config = current_app.config
    per_sender = config["EMAIL_CAP_PER_SENDER_PER_HOUR"]
    per_recipient = config["EMAIL_CAP_PER_RECIPIENT_PER_HOUR"]
    if per_sender <= 0 and per_recipient <= 0:
        return None
    db.session.execute(
        select(User.id).where(User.id == email.user_id).with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )
    sent = _sent_within_hour(email, now)
    from_sender = sent.where(OutboundEmail.sender_id == email.sender_id)
    if per_sender > 0 and email.sender_id is not None and db.session.scalar(from_sender) >= per_sender:
        return DropReason.SENDER_CAP
    if per_recipient > 0 and db.session.scalar(sent) >= per_recipient:
        return DropReason.RECIPIENT_CAP
    return None


# Kinds that invite the user into a session happening now: once the session is over they read as
# ended, from the session's current status, and no longer link to its room.
LIVE_INVITATION_KINDS = frozenset({NotificationKind.SESSION_STARTED})


@dataclass(frozen=True)
class Shown:
    """A notification as the user sees it now. ``live_session_id`` is set while it still invites
    into a live session (a page may turn it into ``ended_*`` when that session ends)."""

    note: Notification
    title: str
    body: str
    url: str
    ended: bool = False
    live_session_id: int | None = None
    ended_title: str = ""
    ended_body: str = ""
    ended_url: str = ""


def _invited_session_id(note):
    if note.kind not in LIVE_INVITATION_KINDS or not isinstance(note.data, dict):
        return None
    session_id = note.data.get("session_id")
    return session_id if isinstance(session_id, int) and not isinstance(session_id, bool) else None


def _session_path(session_id):
    from flask import current_app, has_request_context, url_for

    if has_request_context():
        return url_for("sessions.detail", session_id=session_id)
    with current_app.test_request_context():
        return url_for("sessions.detail", session_id=session_id)


def _ended_words(note, session):
    """(title, body, url) of an invitation whose session is over (or gone)."""
    if session is None:
        return note.title, "This session has ended.", ""
    if session.status == SessionStatus.CANCELLED:
        return f"Cancelled: {session.title}", f"“{session.title}” was cancelled.", _session_path(session.id)
    return (
        f"Ended: {session.title}",
        f"“{session.title}” with {session.mentor.name} has ended.",
        _session_path(session.id),
    )


def present(notes, now=None):
    """``notes`` as their owner should see them now: an invitation to a session that is over
    (completed, cancelled, or its room closed) reads as ended and links to the session's page.
    One query for the sessions of the whole list."""
    from .sessions import is_over

    invited = {_invited_session_id(note) for note in notes} - {None}
    sessions = {}
    if invited:
        sessions = {
            session.id: session
            for session in db.session.scalars(select(LearningSession).where(LearningSession.id.in_(invited)))
        }
    shown = []
    for note in notes:
        session_id = _invited_session_id(note)
        if session_id is None:
            shown.append(Shown(note, note.title, note.body, note.url))
            continue
        session = sessions.get(session_id)
        ended_title, ended_body, ended_url = _ended_words(note, session)
        if session is None or is_over(session, now):
            shown.append(Shown(note, ended_title, ended_body, ended_url, ended=True))
        else:
            shown.append(
                Shown(
                    note,
                    note.title,
                    note.body,
                    note.url,
                    live_session_id=session_id,
                    ended_title=ended_title,
                    ended_body=ended_body,
                    ended_url=ended_url,
                )
            )
    return shown


def notification_json(note, shown=None):
    """The API's and the ``notification`` event's item; ``shown`` (from ``present``) saves the
    session lookup when a whole list is serialised."""
    shown = shown or present([note])[0]
    return {
        "id": note.id,
        "kind": note.kind,
        "title": shown.title,
        "body": shown.body,
        "url": shown.url,
        "data": note.data or {},
        "created_at": note.created_at.isoformat(),
        "read": note.read_at is not None,
        "ended": shown.ended,
    }


def unread_count(user_id):
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    )


def notifications_for(user_id, *, kinds=None, unread=False, page=1, per_page=25):
    """One page of the user's notifications, newest first, and how many match in all."""
    query = select(Notification).where(Notification.user_id == user_id)
    if kinds is not None:
        query = query.where(Notification.kind.in_([str(kind) for kind in kinds]))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(items), total


def mark_read(user_id, ids=None):
    """Mark the user's notifications read (those in ``ids``, or all); ids of anyone else's are
    ignored. Returns how many changed. Every open tab of the user hears ``notifications:read``
    ``{unread, ids}`` (``ids`` null when all were marked) so its bell and list follow."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    marked = db.session.scalars(
        query.values(read_at=utcnow()).returning(Notification.id).execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    if marked:
        from . import realtime

        realtime.emit(
            "notifications:read",
            {"unread": unread_count(user_id), "ids": None if ids is None else sorted(marked)},
            room=realtime.user_room(user_id),
        )
    return len(marked)


# ------------------------------------------------------------------------ one-click unsubscribe

UNSUBSCRIBE_SALT = "peerlearn-unsubscribe"


def _serializer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user, kind):
    return _serializer().dumps({"u": user.id, "k": str(kind)})


def unsubscribe_url(user, kind):
    return external_url("notifications.unsubscribe", token=unsubscribe_token(user, kind))


def read_unsubscribe_token(token):
    """(user_id, kind) from a signed token; ValidationError if it was not made here."""
    from itsdangerous import BadSignature

    try:
        payload = _serializer().loads(token)
        return int(payload["u"]), NotificationKind(payload["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError("This unsubscribe link is not valid.") from None


def announce(note):
    """Push a committed notification to its owner's open pages (the outbox's carrier)."""
    from . import realtime

    realtime.emit("notification", notification_json(note), room=realtime.user_room(note.user_id))
