"""The signed-in person's language over JSON: PUT /api/me/language/ {"language": "hi"}."""

import flask_babel
from flask_babel import gettext as _
from flask_login import current_user

from ...api_envelope import ok
from ...i18n import LANGUAGES
from ...inputs import refuse_unknown_fields
from ...services import languages
from . import bp
from .utils import api_login_required, json_body


@bp.get("/me/language/")
@api_login_required
def get_language():
    return ok({"language": current_user.locale, "languages": LANGUAGES})


@bp.put("/me/language/")
@api_login_required
def put_language():
    data = refuse_unknown_fields(json_body(), {"language"})
    language = languages.save_language(current_user, data.get("language"))
    flask_babel.refresh()  # the answer's message is in the language just chosen
    return ok({"language": language, "languages": LANGUAGES}, _("Language saved."))
