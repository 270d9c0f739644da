"""Notifications in the app: recorded with the change that causes them, shown live and in the
notification center.

``notify()`` is the one way in. In the caller's transaction it writes the ``Notification`` (if the
user wants this kind in the app) and its email (if they want it by email; receipts and security
mail always go), and stages both on the outbox, which hands them on after the commit:
``announce()`` pushes the notification to the user's sockets as a ``notification`` event, and the
email goes to the ``emails`` queue. A notice about something that can be undone carries a
``collapse_key``, and ``retract()`` takes it back (the unread notification and the waiting email)
when the thing is undone.
"""

from dataclasses import dataclass

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, or_, select, update

from ... import i18n
from ...extensions import db
from ...limits import NOTIFICATIONS_PER_PAGE
from ...models import (
    TRANSACTIONAL_KINDS,
    LearningSession,
    Notification,
    NotificationKind,
    SessionStatus,
    User,
    utcnow,
)
from ...models.email import DropReason, EmailStatus, OutboundEmail
from ...serializers.notifications import notification_json as serialize_notification
from .. import mail, outbox, realtime
from ..pagination import Page, paginate
from ..sessions import is_over
from . import counts
from .email import REPEAT_WINDOW, drop_waiting_email, label_email, recent_email
from .preferences import preference, unsubscribe_url


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
    if getattr(user, "deleted_at", None) is not None:
        # A deleted account hears of nothing more (a refund that completes later): its address
        # is a placeholder and nobody can read its notifications (services.your_data).
        return None, None
    in_app, by_email = preference(user.id, kind)
    now = utcnow()
    note = message = None
    # Stored in the recipient's language, whoever's request caused it: ``title`` and ``body`` may
    # be lazy translations (``flask_babel.lazy_gettext``) that become text here.
    with i18n.for_user(user):
        title, body = str(title), str(body)
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
    repeat = collapse_key is not None and (seen or recent_email(user.id, collapse_key, now))
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
            .execution_options(synchronize_session=False, unread_of=user_id)
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


def announce_removed(user_id, retracted):
    """After the commit: open bells and lists drop the removed notifications (sent as
    ``notifications:read`` with their ids, which every open page already follows)."""
    if not retracted.notes_removed:
        return
    realtime.emit(
        "notifications:read",
        {"unread": unread_count(user_id), "ids": sorted(retracted.notes_removed)},
        room=realtime.user_room(user_id),
    )


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
    if has_request_context():
        return url_for("sessions.detail", session_id=session_id)
    with current_app.test_request_context():
        return url_for("sessions.detail", session_id=session_id)


def _ended_words(note, session):
    """(title, body, url) of an invitation whose session is over (or gone)."""
    if session is None:
        return note.title, _("This session has ended."), ""
    if session.status == SessionStatus.CANCELLED:
        return (
            _("Cancelled: %(title)s", title=session.title),
            _("“%(title)s” was cancelled.", title=session.title),
            _session_path(session.id),
        )
    return (
        _("Ended: %(title)s", title=session.title),
        _("“%(title)s” with %(mentor)s has ended.", title=session.title, mentor=session.mentor.name),
        _session_path(session.id),
    )


def present(notes, now=None):
    """``notes`` as their owner should see them now: an invitation to a session that is over
    (completed, cancelled, or its room closed) reads as ended and links to the session's page.
    One query for the sessions of the whole list."""

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


def notification_json(note):
    """One notification as the API and the ``notification`` event show it, in the words it reads
    now (a list is presented at once and serialised with serializers.notifications)."""
    return serialize_notification(present([note])[0])


def unread_count(user_id):
    """How many of the user's notifications are unread (kept between changes: ``counts``)."""
    return counts.kept(user_id, lambda: _count_unread(user_id))


def _count_unread(user_id):
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    )


def notifications_for(user_id, *, kinds=None, unread=False, page=1, per_page=NOTIFICATIONS_PER_PAGE):
    """One page (services.pagination) of the user's notifications, newest first."""
    if page == 1 and kinds is None:
        # Most people have fewer than a page: then the page is the whole list, and its length
        # the total, with no COUNT to run. (The statement is built once: the bell's list is
        # read on every page of the app.)
        items = list(
            db.session.scalars(_first_page(unread), {"user_id": user_id, "per_page": per_page}).unique()
        )
        if len(items) < per_page:
            return Page(items, len(items), page, per_page)
        counted = select(func.count(Notification.id)).where(Notification.user_id == user_id)
        if unread:
            counted = counted.where(Notification.read_at.is_(None))
        return Page(items, db.session.scalar(counted), page, per_page)
    query = select(Notification).where(Notification.user_id == user_id)
    if kinds is not None:
        query = query.where(Notification.kind.in_([str(kind) for kind in kinds]))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    return paginate(query, page=page, per_page=per_page)


_FIRST_PAGES = {}


def _first_page(unread):
    statement = _FIRST_PAGES.get(unread)
    if statement is None:
        statement = select(Notification).where(Notification.user_id == bindparam("user_id"))
        if unread:
            statement = statement.where(Notification.read_at.is_(None))
        statement = _FIRST_PAGES[unread] = statement.order_by(
            Notification.created_at.desc(), Notification.id.desc()
        ).limit(bindparam("per_page"))
    return statement


def mark_read(user_id, ids=None):
    """Mark the user's notifications read (those in ``ids``, or all); ids of anyone else's are
    ignored. Returns how many changed. Every open tab of the user hears ``notifications:read``
    ``{unread, ids}`` (``ids`` null when all were marked) so its bell and list follow."""
    query = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(ids))
    marked = db.session.scalars(
        query.values(read_at=utcnow())
        .returning(Notification.id)
        .execution_options(synchronize_session=False, unread_of=user_id)
    ).all()
    db.session.commit()
    if marked:
        realtime.emit(
            "notifications:read",
            {"unread": unread_count(user_id), "ids": None if ids is None else sorted(marked)},
            room=realtime.user_room(user_id),
        )
    return len(marked)


def announce(note):
    """Push a committed notification to its owner's open pages (the outbox's carrier), in the
    owner's language."""
    # Only an invitation's words are made now (as it reads once its session is over); the rest
    # were stored in the owner's language.
    owner = db.session.get(User, note.user_id) if note.kind in LIVE_INVITATION_KINDS else None
    with i18n.for_user(owner):
        shown = notification_json(note)
    realtime.emit("notification", shown, room=realtime.user_room(note.user_id))
