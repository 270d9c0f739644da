"""What each user wants of each kind, in the app and by email, and the signed one-click
unsubscribe links of the emails (docs/notifications.md#preferences)."""

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...exceptions import Conflict, ValidationError
from ...extensions import db
from ...links import external_url
from ...models import (
    TRANSACTIONAL_KINDS,
    NotificationKind,
    NotificationPreference,
)
from .kinds import KIND_LABELS


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
                "label": str(KIND_LABELS[kind]),
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
        raise ValidationError(
            _("Unknown notification kind."), fields={"kind": [_("Unknown kind.")]}
        ) from None
    if email is False and kind in TRANSACTIONAL_KINDS:
        raise ValidationError(
            _("Receipts and security emails can't be turned off."),
            fields={"email": [_("Always on for this kind.")]},
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
                _("Unknown notification kind: %(kind)s.", kind=kind), fields={str(kind): [_("Unknown kind.")]}
            ) from None
        if not isinstance(fields, dict) or not fields or set(fields) - {"in_app", "email"}:
            raise ValidationError(
                _("Give in_app and/or email for each kind."),
                fields={kind.value: [_("Expected in_app, email.")]},
            )
        for name, value in fields.items():
            if not isinstance(value, bool):
                raise ValidationError(
                    _("%(name)s must be true or false.", name=name),
                    fields={kind.value: [_("%(name)s must be a boolean.", name=name)]},
                )
        if fields.get("email") is False and kind in TRANSACTIONAL_KINDS:
            raise ValidationError(
                _("Receipts and security emails can't be turned off."),
                fields={kind.value: [_("Email is always on for this kind.")]},
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
        raise Conflict(_("Your settings were being changed elsewhere; please try again.")) from None


# ------------------------------------------------------------------------ one-click unsubscribe

UNSUBSCRIBE_SALT = "peerlearn-unsubscribe"


def _serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user, kind):
    return _serializer().dumps({"u": user.id, "k": str(kind)})


def unsubscribe_url(user, kind):
    return external_url("notifications.unsubscribe", token=unsubscribe_token(user, kind))


def read_unsubscribe_token(token):
    """(user_id, kind) from a signed token; ValidationError if it was not made here."""

    try:
        payload = _serializer().loads(token)
        return int(payload["u"]), NotificationKind(payload["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(_("This unsubscribe link is not valid.")) from None
