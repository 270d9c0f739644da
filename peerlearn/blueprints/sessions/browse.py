"""Browsing and viewing sessions (everyone, signed in or not)."""

from dataclasses import dataclass

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ...exceptions import ValidationError
from ...formats import viewer_timezone
from ...models import ACTIVE_BOOKING_STATUSES, CATEGORIES, LANGUAGES, SessionLevel, utcnow
from ...services import avatars, fragments, interactions, recommendations, search, settlement, storage
from ...services import booking as booking_service
from ...services import gifts as gift_service
from ...services import packs as pack_service
from ...services import room as room_service
from ...services import sessions as sessions_service
from ...services import waitlist as waitlist_service
from ...services.fragments import Lazy
from ...services.pagination import Page
from ...services.sessions import viewable_session
from . import bp


@bp.get("/sessions")
def browse():
    errors = {}
    try:
        params = search.parse_search_params(request.args, rupees=True)
    except ValidationError as exc:
        errors, params = exc.fields, None
    if params is not None and params.page == 1:
        interactions.searched(current_user, params.q or "")
    args = request.args.to_dict(flat=False)

    def page_url(page):
        return url_for("sessions.browse", **{**args, "page": page})

    def results():
        """[items, total, pages]: searched only when the results' fragment is drawn again."""
        if params is None:
            return [[], 0, 1]
        items, total = search.search_sessions(params, viewer=current_user)
        return [items, total, Page(items, total, params.page, params.per_page).pages]

    return render_template(
        "sessions/browse.html",
        params=params,
        errors=errors,
        results=Lazy(results),
        results_key=tuple(sorted(request.args.items(multi=True))),
        page_url=page_url,
        sorts=search.SORTS,
        categories=CATEGORIES,
        languages=LANGUAGES,
        levels=[level.value for level in SessionLevel],
    ), (400 if errors else 200)


@bp.get("/sessions/<int:session_id>")
def detail(session_id):
    learning_session = viewable_session(current_user, session_id)
    interactions.viewed(current_user, learning_session)
    is_owner = current_user.is_authenticated and current_user.id == learning_session.mentor_id
    booking = similar_kept = None
    similar = Lazy(lambda: _similar(learning_session))
    if current_user.is_authenticated and not is_owner:
        booking, similar_kept = _booking_and_kept_similar(learning_session)
        if similar_kept is not None:
            similar = similar_kept.session_ids
    edit_url = None
    if is_owner and "sessions.edit" in current_app.view_functions:
        edit_url = url_for("sessions.edit", session_id=learning_session.id)
    now = utcnow()
    room = transcript = gifts = None
    # Only the mentor and a learner with a booking can hold a seat (no statement for the rest).
    if (is_owner or booking is not None) and room_service.has_seat(current_user, learning_session):
        # Participants get the way in while the room is open, and its chat and gifts to reread.
        refusal = room_service.entry_refusal(current_user, learning_session, now)
        room = {
            "can_enter": refusal is None,
            "refusal": refusal.code if refusal is not None else None,
            "opens_at": room_service.opens_at(learning_session),
        }
        transcript = room_service.chat_history(learning_session.id)
        gifts = gift_service.paid_in_session(learning_session.id)
    return render_template(
        "sessions/detail.html",
        learning_session=learning_session,
        booking=booking,
        is_owner=is_owner,
        edit_url=edit_url,
        now=now,
        room=room,
        transcript=transcript,
        gifts=gifts,
        # What booking now promises (for a viewer's own booking, what it promises). These three
        # are read only when the page is drawn: a visitor's is a fragment kept between changes.
        refund_promise=Lazy(lambda: booking_service.refund_promise(booking or learning_session, now)),
        not_held=Lazy(lambda: settlement.was_not_held(learning_session)),
        waitlist=Lazy(lambda: waitlist_service.for_page(current_user, learning_session, is_owner)),
        # The viewer's session packs a credit of which can book this session (services.packs).
        credit_packs=Lazy(
            lambda: (
                pack_service.usable_purchases(current_user, learning_session, now)
                if current_user.is_authenticated and not is_owner and booking is None
                else []
            )
        ),
        similar=similar,
        similar_html=similar_kept.html if similar_kept is not None else None,
    )


@bp.get("/media/covers/<filename>")
def cover(filename):
    response = storage.get_storage().serve(avatars.cover_key(filename), max_age=86400 * 30)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _similar(learning_session, limit=3, *, personal=True):
    """The recommender's similar sessions (left out, with ``personal``: the viewer's own and
    those they booked); the catalog's (shared skills, same category) until its first build has
    covered this session."""
    viewer = current_user.id if personal and current_user.is_authenticated else None
    return recommendations.similar_to(
        learning_session, limit=limit, viewer_id=viewer
    ) or search.similar_sessions(learning_session, limit=limit)


@dataclass(frozen=True)
class KeptSimilar:
    """The similar sessions' section as anyone sees it, kept between changes to the catalog."""

    session_ids: tuple
    mentor_ids: frozenset
    html: Markup


def _booking_and_kept_similar(learning_session):
    """The signed-in viewer's active booking of ``learning_session``, and the similar sessions'
    section as kept for everyone, or None where it differs for them: the recommender leaves out
    the sessions a viewer teaches or booked. One statement reads their bookings of all of them."""
    kept = _kept_similar(learning_session)
    here = learning_session.id
    bookings = sessions_service.bookings_in(current_user.id, {here, *kept.session_ids})
    active = [b for b in bookings if b.session_id == here and b.status in ACTIVE_BOOKING_STATUSES]
    if current_user.id in kept.mentor_ids or any(b.session_id != here for b in bookings):
        kept = None
    return (active[0] if active else None), kept


def _kept_similar(learning_session):
    """The section of similar sessions as a signed-in person sees it, drawn once per catalog
    version for everyone. It differs for a viewer who teaches or booked one of them (the
    recommender leaves those out): the caller checks."""

    def build():
        items = _similar(learning_session, personal=False)
        html = Markup(render_template("sessions/_similar.html", similar=items))  # noqa: S704 - autoescaped
        return KeptSimilar(tuple(s.id for s in items), frozenset(s.mentor_id for s in items), html)

    key = ("similar", viewer_timezone(), True, learning_session.id)
    return fragments.cached(*key, build=build)
