from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ...inputs import is_id, page_or_first, whole_number
from ...limits import NOTIFICATIONS_PER_PAGE
from ...security import acts_without_identity
from ...services import notifications
from ...services.notifications.email import unsubscriber
from . import bp

# The center's views: everything, unread only, or one group of kinds.
VIEWS = {"all": _l("All"), "unread": _l("Unread")} | {
    name: label for name, (label, _kinds) in notifications.KIND_GROUPS.items()
}


@bp.app_context_processor
def unread_notifications():
    """``unread_notifications()`` for the nav's bell: counted only on pages that ask."""

    def count():
        return notifications.unread_count(current_user.id) if current_user.is_authenticated else 0

    return {"unread_notifications": count}


def _filter_and_page(values):
    show = values.get("show", "all")
    if show not in VIEWS:
        show = "all"
    return show, page_or_first(values.get("page", "1"))


@bp.get("")
@login_required
def center():
    show, page = _filter_and_page(request.args)
    kinds = notifications.KIND_GROUPS[show][1] if show in notifications.KIND_GROUPS else None
    found = notifications.notifications_for(
        current_user.id, kinds=kinds, unread=show == "unread", page=page, per_page=NOTIFICATIONS_PER_PAGE
    )
    return render_template(
        "notifications/center.html",
        items=notifications.present(found.items),
        total=found.total,
        page=page,
        pages=found.pages,
        show=show,
        # As text in this request's language (a lazy label would reach the page unescaped).
        views={name: str(label) for name, label in VIEWS.items()},
        groups={name: (str(label), kinds) for name, (label, kinds) in notifications.KIND_GROUPS.items()},
        unread=notifications.unread_count(current_user.id),
    )


@bp.post("/read")
@login_required
def mark_read():
    """Mark one notification (``ids``) or every one (``all``) read, then back to the same view.
    Ids that are not the user's own are ignored."""
    show, page = _filter_and_page(request.form)
    if request.form.get("all"):
        if notifications.mark_read(current_user.id):
            flash(_("All notifications marked as read."), "success")
    else:
        ids = [whole_number(value) for value in request.form.getlist("ids")]
        notifications.mark_read(current_user.id, [i for i in ids if is_id(i)][:100])
    return redirect(
        url_for("notifications.center", show=None if show == "all" else show, page=page if page > 1 else None)
    )


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """One form for every kind: a kind's box unticked means off. Locked email boxes are
    disabled, so they are never sent, and are left alone."""
    if request.method == "POST":
        in_app, email = set(request.form.getlist("in_app")), set(request.form.getlist("email"))
        choices = {}
        for row in notifications.preferences(current_user.id):
            choices[row["kind"]] = {"in_app": row["kind"] in in_app}
            if not row["email_locked"]:
                choices[row["kind"]]["email"] = row["kind"] in email
        notifications.set_preferences(current_user.id, choices)
        flash(_("Notification settings saved."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", rows=notifications.preferences(current_user.id))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@acts_without_identity
def unsubscribe(token):
    """No sign-in needed: the signed token names the person and the kind. GET asks (mail
    scanners follow links, so a GET changes nothing); POST, from the page's button or a mail
    client's List-Unsubscribe-Post one-click request, turns that kind's email off."""
    found = unsubscriber(token)
    if found is None:
        return render_template("notifications/unsubscribe.html", invalid=True), 400
    user, kind = found
    label = str(notifications.KIND_LABELS[kind])
    if request.method == "POST":
        notifications.set_preference(user.id, kind, email=False)
        return render_template("notifications/unsubscribe.html", done=True, label=label, token=token)
    return render_template("notifications/unsubscribe.html", done=False, label=label, token=token)
