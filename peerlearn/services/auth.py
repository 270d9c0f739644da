"""Signing in and out: web sessions and API tokens backed by AuthSession records."""

import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload, lazyload

from ..exceptions import AuthenticationError, PermissionDenied
from ..extensions import db
from ..models import AuthKind, AuthSession, User, hash_token, utcnow
from . import calendar, passwords, ratelimit, realtime

# Touch last_seen_at at most this often, so reads do not become writes.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)
# A web session without "remember me" lasts this long on the server.
SHORT_WEB_SESSION = timedelta(hours=24)


def normalise_email(email):
    return (email or "").strip().lower()


WRONG_CREDENTIALS = _l("Wrong email or password.")


def authenticate(email, password, *, ip_address=""):
    """Return the user for valid credentials; count attempts per account and per IP.

    An account whose email is not confirmed yet cannot sign in with its password: registering
    answers the same for a new and a taken address, and signing in with the password just
    chosen must not tell them apart either. The confirmation link signs the new user in."""
    email = normalise_email(email)
    ratelimit.hit("login-ip", ip_address, "LOGIN_LIMIT_PER_IP")
    ratelimit.hit("login-account", email, "LOGIN_LIMIT_PER_ACCOUNT")
    user = db.session.scalar(select(User).where(User.email == email))
    password_hash = user.password_hash if user is not None else _dummy_hash()
    # End the read so its database connection goes back to the pool while the check waits for a
    # hashing slot and runs: a burst of sign-ins must not hold the connections every other
    # request needs (nothing is pending: the writes below come after the check). The user keeps
    # what was just read instead of being read again.
    _commit_keeping_loaded()
    if user is None:
        # Spend the same time as a real check so response times do not reveal accounts.
        passwords.verify_password(password_hash, password)
        raise AuthenticationError(WRONG_CREDENTIALS)
    if not passwords.verify_password(password_hash, password) or not user.is_verified:
        raise AuthenticationError(WRONG_CREDENTIALS)
    if user.deleted_at is not None:  # its password is unusable; never say the account existed
        raise AuthenticationError(WRONG_CREDENTIALS)
    if not user.is_active:
        raise PermissionDenied(
            _("This account is suspended. Contact support if you think this is a mistake."),
            code="account_suspended",
        )
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    ratelimit.reset("login-account", email, "LOGIN_LIMIT_PER_ACCOUNT")
    return user


_DUMMY_HASH = {}


def _dummy_hash():
    key = (current_app.config["ARGON2_TIME_COST"], current_app.config["ARGON2_MEMORY_COST"])
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = passwords.hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH[key]


def start_session(user, kind, *, remember=False, ip_address="", user_agent=""):
    """Create an AuthSession for ``user`` and commit; the raw token is on ``.raw_token``."""
    now = utcnow()
    if kind == AuthKind.API:
        lifetime = timedelta(days=current_app.config["API_TOKEN_LIFETIME_DAYS"])
    elif remember:
        lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    else:
        lifetime = SHORT_WEB_SESSION
    raw = secrets.token_urlsafe(32)
    auth_session = AuthSession(
        user=user,
        kind=kind.value,
        token_hash=hash_token(raw),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ip_address=(ip_address or "")[:45],
        user_agent=(user_agent or "")[:255],
    )
    user.last_login_at = now
    # Expired sign-ins of this user are dead weight; clear them while we are here.
    db.session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now)
    )
    db.session.add(auth_session)
    # The sign-in's page goes on with this user (its home, its header): what was just written
    # is what it would read back.
    _commit_keeping_loaded()
    auth_session.raw_token = raw
    user.current_auth_session = auth_session
    return auth_session


def _commit_keeping_loaded():
    """Commit without expiring what the session holds, so nothing is read again after it."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


_USER_WITHOUT_SKILLS = joinedload(AuthSession.user).options(lazyload(User.skills), lazyload(User.interests))


def user_for_token(raw, kind):
    """The active user behind a cookie or bearer token, or None. Expired records are removed."""
    if not raw or len(raw) > 200:
        return None
    auth_session = db.session.scalar(
        select(AuthSession)
        .where(AuthSession.token_hash == hash_token(raw), AuthSession.kind == kind)
        # Every request and socket event comes through here: load the user's skills and
        # interests only where a page uses them.
        .options(_USER_WITHOUT_SKILLS)
    )
    if auth_session is None:
        return None
    now = utcnow()
    if auth_session.is_expired(now):
        db.session.delete(auth_session)
        db.session.commit()
        return None
    user = auth_session.user
    if not user.is_active:
        return None
    if now - auth_session.last_seen_at > LAST_SEEN_RESOLUTION:
        auth_session.last_seen_at = now
        db.session.commit()
    auth_session.raw_token = raw
    user.current_auth_session = auth_session
    return user


def end_session(auth_session):
    """Sign out one browser or token: the record is deleted, so a copied cookie stops working."""
    if auth_session is None:
        return
    session_id = auth_session.id
    db.session.execute(delete(AuthSession).where(AuthSession.id == session_id))
    db.session.commit()
    realtime.end_auth_sessions([session_id])


def end_sessions_of(user, *, keep=None, kind=None):
    """Sign ``user`` out everywhere (optionally keeping one session, or only one kind)."""
    query = select(AuthSession.id).where(AuthSession.user_id == user.id)
    if keep is not None:
        query = query.where(AuthSession.id != keep.id)
    if kind is not None:
        query = query.where(AuthSession.kind == kind)
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(delete(AuthSession).where(AuthSession.id.in_(ids)))
    db.session.commit()
    realtime.end_auth_sessions(ids)
    return len(ids)


def advance_credential_epoch(user, *, expected=None):
    """Retire every link emailed to ``user`` so far and give their calendar feed a new URL, in
    the caller's transaction. With ``expected``, only if the epoch is still that value (one
    conditional update); returns False when it had moved on."""
    query = update(User).where(User.id == user.id)
    if expected is not None:
        query = query.where(User.credential_epoch == expected)
    result = db.session.execute(
        query.values(credential_epoch=User.credential_epoch + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.expire(user, ["credential_epoch"])
    calendar.replace_calendar_token(user)
    return True


def sign_out_everywhere(user, *, keep=None):
    """Log out everywhere: end every sign-in of ``user`` (but ``keep``), retire every reset and
    confirmation link sent before, and move the calendar feed to a new URL (the old one is the
    kind of secret a lost device or a shared calendar still holds). Returns the sessions ended."""
    advance_credential_epoch(user)
    return end_sessions_of(user, keep=keep)


def sessions_of(user):
    return list(
        db.session.scalars(
            select(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.expires_at > utcnow())
            .order_by(AuthSession.last_seen_at.desc())
        )
    )


def end_session_by_id(user, session_id):
    """Sign out one of ``user``'s own sessions from the devices list. Returns False if not theirs."""
    auth_session = db.session.get(AuthSession, session_id)
    if auth_session is None or auth_session.user_id != user.id:
        return False
    end_session(auth_session)
    return True
