"""Reviews on pages: the review form, the mentor's reply, a mentor's reviews, and the panels the
session page, the mentor profile and "My bookings" include (through the context processor below,
so those views stay as they are)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from ...exceptions import DomainError
from ...formats import viewer_timezone
from ...forms import apply_field_errors
from ...inputs import page_or_first
from ...limits import LIST_PER_PAGE
from ...services import fragments, reviews
from ...services.fragments import Lazy
from ...services.people import active_mentor
from ...services.sessions import viewable_session
from . import bp
from .forms import ReplyForm, ReviewForm

PROFILE_REVIEWS = 5
# A session has at most MAX_CAPACITY learners, so its page can show every review.
SESSION_PAGE_REVIEWS = 50


@bp.app_context_processor
def review_panels():
    """Functions the shared templates call: each runs its queries only on pages that use it.

    What every viewer sees alike (a session's rating and reviews, a mentor's latest reviews) is
    kept between changes to the catalog (services/fragments.py); the review form, the reply
    forms and the session titles only some may read are worked out per viewer."""

    def session_reviews_panel(learning_session):
        viewer = current_user if current_user.is_authenticated else None
        is_mentor = viewer is not None and viewer.id == learning_session.mentor_id
        check = None
        # Before a session ends nobody may review it and the page explains nothing, so the
        # check (a statement) is left out until then.
        if viewer is not None and not is_mentor and reviews.has_ended(learning_session):
            check = reviews.eligibility(viewer, learning_session)
        rating = fragments.cached(
            "session-rating", learning_session.id, build=lambda: reviews.session_rating(learning_session.id)
        )
        return {
            "rating": rating,
            # Read only when the list is drawn; as many as the rating counts (both visible ones).
            "reviews": Lazy(
                lambda: reviews.session_reviews(learning_session.id, per_page=SESSION_PAGE_REVIEWS)[0]
            ),
            "total": rating.count,
            "check": check,
            "form": ReviewForm(formdata=None) if check is not None and check.allowed else None,
            "reply_form": ReplyForm(formdata=None) if is_mentor else None,
            "is_mentor": is_mentor,
        }

    def mentor_reviews_panel(mentor):
        """The mentor profile's latest reviews, drawn: kept for everyone, unless one of them is
        on a private session (made from a request) this viewer took part in, whose title they
        read (reviews.with_session_titles)."""

        def draw(viewer):
            items, total = reviews.mentor_reviews(mentor.id, per_page=PROFILE_REVIEWS)
            items = reviews.with_session_titles(items, viewer)
            panel = {"rating": reviews.mentor_rating(mentor.id), "reviews": items, "total": total}
            html = render_template("community/_mentor_reviews_panel.html", mentor=mentor, panel=panel)
            # Untitled for anyone: the private sessions' learners and mentor read their titles.
            readers = {
                person for r in items if r.session_title is None for person in (r.learner_id, r.mentor_id)
            }
            return Markup(html), frozenset(readers)  # noqa: S704 - a template's output, autoescaped

        signed_in = current_user.is_authenticated
        html, readers = fragments.cached(
            "mentor-reviews", viewer_timezone(), signed_in, mentor.id, build=lambda: draw(None)
        )
        if signed_in and current_user.id in readers:
            html, _readers = draw(current_user)
        return html

    def reviewed_bookings(bookings):
        return reviews.reviewed_booking_ids(b.id for b in bookings)

    return {
        "session_reviews_panel": session_reviews_panel,
        "mentor_reviews_panel": mentor_reviews_panel,
        "mentor_rating": lambda mentor: reviews.mentor_rating(mentor.id),
        "reviewed_bookings": reviewed_bookings,
        "invites_review": reviews.invites_review,
    }


@bp.route("/sessions/<int:session_id>/review", methods=["GET", "POST"])
@login_required
def write_review(session_id):
    learning_session = viewable_session(current_user, session_id)
    back = url_for("sessions.detail", session_id=learning_session.id)
    form = ReviewForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                reviews.create_review(
                    current_user, learning_session.id, rating=form.rating.data, body=form.body.data or ""
                )
            except DomainError as exc:
                # Refusals (403, 409) are explained by the page below, from the same check.
                leftover = apply_field_errors(form, exc.fields)
                if leftover:
                    flash(leftover[0], "error")
                status = exc.status
            else:
                flash(_("Thank you: your review is published."), "success")
                return redirect(back + "#reviews", 303)
        else:
            status = 422
    check = reviews.eligibility(current_user, learning_session)
    if status == 200 and not check.allowed:
        status = check.refusal.status
    return render_template(
        "community/review_form.html", learning_session=learning_session, form=form, check=check
    ), status


@bp.post("/reviews/<int:review_id>/reply")
@login_required
def reply(review_id):
    review = reviews.visible_review(review_id)
    back = url_for("sessions.detail", session_id=review.session_id) + f"#review-{review.id}"
    form = ReplyForm()
    if not form.validate_on_submit():
        message = next(iter(form.body.errors), _("Write your reply."))
        flash(message, "error")
        return redirect(back, 303)
    try:
        reviews.reply(current_user, review.id, form.body.data)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Your reply is published."), "success")
    return redirect(back, 303)


@bp.get("/mentors/<int:user_id>/reviews")
def mentor_reviews(user_id):
    mentor = active_mentor(user_id)
    page = page_or_first(request.args.get("page", "1"))
    listed = reviews.mentor_reviews(mentor.id, page=page, per_page=LIST_PER_PAGE)
    return render_template(
        "community/mentor_reviews.html",
        mentor=mentor,
        reviews=reviews.with_session_titles(listed.items, current_user),
        total=listed.total,
        rating=reviews.mentor_rating(mentor.id),
        page=page,
        pages=listed.pages,
    )
