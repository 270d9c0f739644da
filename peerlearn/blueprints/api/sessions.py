"""Finding sessions over JSON: the original's GET /api/sessions/ and one session's details."""

from flask import request
from flask_login import current_user

from ...api_envelope import ok, paginated
from ...formats import viewer_timezone
from ...serializers.sessions import session_detail as session_detail_json
from ...serializers.sessions import session_summary
from ...services import fragments, search
from ...services.booking import active_booking
from ...services.sessions import viewable_session
from . import bp
from .utils import refuse_empty_args


@bp.get("/sessions/")
def list_sessions():
    refuse_empty_args(
        "category",
        "level",
        "language",
        "price_min",
        "price_max",
        "date_from",
        "date_to",
        "sort",
        "page",
        "per_page",
    )
    params = search.parse_search_params(request.args)

    def build():
        items, total = search.search_sessions(params, viewer=current_user)
        return paginated(
            [session_summary(s) for s in items], page=params.page, per_page=params.per_page, total=total
        )

    # What anyone asking the same question sees alike, kept between changes to the catalog like
    # the catalog page's results (date filters are read in the viewer's timezone; links are built
    # on PUBLIC_BASE_URL, whoever asks).
    key = ("api-sessions", viewer_timezone(), tuple(sorted(request.args.items(multi=True))))
    answer = fragments.cached(*key, build=build)
    # Seats are not kept with the answer: a booking moves no version (services/fragments.py).
    return ok({**answer, "items": fragments.seats_with(answer["items"])})


@bp.get("/sessions/<int:session_id>/")
def session_detail(session_id):
    session = viewable_session(current_user, session_id)
    data = session_detail_json(session)
    if current_user.is_authenticated:
        booking = active_booking(session.id, current_user.id)
        data["viewer_booking"] = {"id": booking.id, "status": booking.status} if booking else None
    return ok(data)
