"""Deleted accounts: the upcoming sessions with bookings whose mentor deleted their account,
each waiting for an admin to cancel it (every booking refunded in full) or let it run; and an
admin deleting an account. The admin blueprint's guard keeps these to admins."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...exceptions import DomainError
from ...services import audit, your_data
from . import bp


@bp.get("/deleted-mentors")
def deletion_reviews():
    waiting = your_data.open_reviews()
    return render_template(
        "admin/deletion_reviews.html",
        waiting=waiting,
        decided=your_data.decided_reviews(),
        booked=your_data.booking_counts([review.session_id for review in waiting]),
    )


@bp.post("/deleted-mentors/<int:review_id>")
def decide_deletion_review(review_id):
    decision = request.form.get("decision", "")
    try:
        review = your_data.decide_review(current_user, review_id, decision, origin=audit.Origin.of(request))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        if review.decision == "cancelled":
            flash(_("The session is cancelled and its learners refunded in full."), "success")
        else:
            flash(_("The session will run as planned."), "success")
    return redirect(url_for("admin.deletion_reviews"), 303)


@bp.post("/users/<int:user_id>/delete")
def delete_user(user_id):
    try:
        your_data.admin_delete_account(
            current_user, user_id, request.form.get("reason", ""), origin=audit.Origin.of(request)
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for("admin.user", user_id=user_id), 303)
    flash(_("The account is deleted; its money records stay."), "success")
    return redirect(url_for("admin.user", user_id=user_id), 303)
