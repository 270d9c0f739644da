from flask import render_template, request

from ...exceptions import ValidationError
from ...extensions import db
from ...models import User
from ...security import acts_without_identity
from ...services import notifications
from . import bp


def _reader(token):
    """(user, kind) for a signed unsubscribe token, or None."""
    try:
        user_id, kind = notifications.read_unsubscribe_token(token)
    except ValidationError:
        return None
    user = db.session.get(User, user_id)
    return (user, kind) if user is not None else None


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@acts_without_identity
def unsubscribe(token):
    """No sign-in needed: the signed token names the person and the kind. GET asks (mail
    scanners follow links, so a GET changes nothing); POST, from the page's button or a mail
    client's List-Unsubscribe-Post one-click request, turns that kind's email off."""
    found = _reader(token)
    if found is None:
        return render_template("notifications/unsubscribe.html", invalid=True), 400
    user, kind = found
    label = notifications.KIND_LABELS[kind]
    if request.method == "POST":
        notifications.set_preference(user.id, kind, email=False)
        return render_template("notifications/unsubscribe.html", done=True, label=label, token=token)
    return render_template("notifications/unsubscribe.html", done=False, label=label, token=token)
