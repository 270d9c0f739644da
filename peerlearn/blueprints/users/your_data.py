"""Your data pages: download everything we hold about you, and delete your account."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...exceptions import DomainError
from ...forms import apply_field_errors
from ...security import sign_out
from ...services import audit, storage, your_data
from . import bp
from .forms import DeleteAccountForm

# An export is private: no cache of any kind may keep it.
PRIVATE = "private, no-store"


@bp.get("/profile/data")
@login_required
def your_data_page():
    return render_template(
        "users/your_data.html",
        exports=your_data.exports_of(current_user),
        lifetime_days=your_data.EXPORT_LIFETIME.days,
        per_day=your_data.EXPORTS_PER_DAY,
    )


@bp.post("/profile/data/export")
@login_required
def request_export():
    your_data.request_export(current_user, origin=audit.Origin.of(request))
    flash(_("We're preparing your data. We'll email you a link when it's ready."), "success")
    return redirect(url_for("users.your_data_page"), 303)


@bp.get("/profile/data/exports/<int:export_id>/download")
@login_required
def download_export(export_id):
    """The ZIP, to its owner only (a signed link from the email, or the page's own link)."""
    token = request.args.get("token")
    export = your_data.export_for_download(current_user, export_id, token)
    return send_export(export)


def send_export(export):
    store = storage.get_storage()
    filename = f"peerlearn-data-{export.created_at:%Y-%m-%d}.zip"
    url = store.private_url(export.storage_key, expires_in=300)
    if url:
        response = redirect(url, 303)
    else:
        if not store.exists(export.storage_key):
            abort(404)
        response = store.serve(export.storage_key, max_age=0)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = PRIVATE
    return response


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    status = 200
    if form.validate_on_submit():
        try:
            your_data.delete_account(
                current_user,
                form.password.data,
                form.confirmation.data,
                origin=audit.Origin.of(request),
            )
        except DomainError as exc:
            leftover = apply_field_errors(form, exc.fields)
            if leftover or not exc.fields:
                flash(leftover[0] if leftover else exc.message, "error")
            status = exc.status
        else:
            sign_out()
            flash(_("Your account has been deleted. Thank you for learning with us."), "info")
            return redirect(url_for("main.index"), 303)
    elif request.method == "POST":
        status = 422
    return render_template("users/delete_account.html", form=form), status
