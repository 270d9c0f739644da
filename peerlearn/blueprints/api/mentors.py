"""The mentor directory over JSON: GET /api/mentors/ (the same filters as the /mentors page)."""

from flask import request

from ...api_envelope import ok, paginated
from ...serializers.users import mentor_card_json
from ...services import mentors
from . import bp
from .utils import refuse_empty_args


@bp.get("/mentors/")
def list_mentors():
    refuse_empty_args("language", "price_min", "price_max", "min_rating", "sort", "page", "per_page")
    params = mentors.parse_directory_params(request.args)
    cards, total = mentors.search_mentors(params)
    items = [mentor_card_json(card) for card in cards]
    return ok(paginated(items, page=params.page, per_page=params.per_page, total=total))
