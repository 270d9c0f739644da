"""Notifications over JSON: the signed-in user's notifications, marking them read, and their
preferences per kind."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...exceptions import ValidationError
from ...inputs import MAX_ID, is_id
from ...models import NotificationKind
from ...serializers.notifications import notification_json
from ...services import notifications
from . import bp
from .utils import api_login_required, json_body, page_args, refuse_empty_args

MAX_IDS = 500
FLAGS = {"1": True, "true": True, "0": False, "false": False}


def _kinds(raw):
    """``kind=a,b`` as a list of kinds, None when absent, or a 422 naming the unknown one."""
    if raw is None or raw == "":
        return None
    kinds = []
    for value in raw.split(","):
        try:
            kinds.append(NotificationKind(value.strip()))
        except ValueError:
            raise ValidationError(
                _("Unknown notification kind: %(kind)s.", kind=value), fields={"kind": [_("Unknown kind.")]}
            ) from None
    return kinds


@bp.get("/notifications/")
@api_login_required
def list_notifications():
    refuse_empty_args("unread", "kind")
    page, per_page = page_args()
    unread = request.args.get("unread", "0").lower()
    if unread not in FLAGS:
        raise ValidationError(_("unread must be 1 or 0."), fields={"unread": [_("Use 1 or 0.")]})
    kinds = _kinds(request.args.get("kind"))
    items, total = notifications.notifications_for(
        current_user.id, kinds=kinds, unread=FLAGS[unread], page=page, per_page=per_page
    )
    # Every unread notification, of every kind: the list's total is the unread count.
    unread_count = total if FLAGS[unread] and kinds is None else notifications.unread_count(current_user.id)
    return ok(
        {
            **paginated(
                [notification_json(shown) for shown in notifications.present(items)],
                page=page,
                per_page=per_page,
                total=total,
            ),
            "unread_count": unread_count,
        }
    )


@bp.post("/notifications/read/")
@api_login_required
def mark_notifications_read():
    """``{ids: [...]}`` or ``{all: true}``. Ids of other people's notifications, or of ones
    already read, are skipped: ``marked`` counts only what changed."""
    data = json_body()
    if data.get("all") is True and "ids" not in data:
        marked = notifications.mark_read(current_user.id)
    elif "ids" in data and "all" not in data:
        ids = data["ids"]
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS or not all(is_id(i) for i in ids):
            raise ValidationError(
                _("ids must be a list of 1 to %(max)s notification ids.", max=MAX_IDS),
                fields={"ids": [_("A list of ids (whole numbers from 1 to %(max)s).", max=MAX_ID)]},
            )
        marked = notifications.mark_read(current_user.id, ids)
    else:
        raise ValidationError(
            _("Send either ids (a list) or all: true."), fields={"ids": [_("Send ids, or all: true.")]}
        )
    return ok(
        {"marked": marked, "unread_count": notifications.unread_count(current_user.id)},
        _("%(count)s marked as read.", count=marked),
    )


@bp.get("/notifications/preferences/")
@api_login_required
def notification_preferences():
    return ok({"preferences": notifications.preferences(current_user.id)})


@bp.patch("/notifications/preferences/")
@api_login_required
def update_notification_preferences():
    """``{kind: {in_app?, email?}, ...}``: only the kinds and switches sent change; all or nothing."""
    data = json_body()
    if not data:
        raise ValidationError(
            _('Send the kinds to change, e.g. {"new_follower": {"email": false}}.'),
            fields={"body": [_("Empty.")]},
        )
    notifications.set_preferences(current_user.id, data)
    return ok({"preferences": notifications.preferences(current_user.id)}, _("Preferences saved."))
