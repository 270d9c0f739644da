"""The response envelope of the original API, kept so its clients keep working. The API, the
error handlers, the security checks and the payment callbacks all answer with it.

Success: ``{success: true, data, message, timestamp}``.
Error: ``{success: false, error: {code, message, fields}, message, timestamp}`` with a 4xx/5xx status.
"""

from flask import jsonify

from .models import utcnow


def _timestamp():
    return utcnow().isoformat().replace("+00:00", "Z")


def ok(data=None, message="OK", status=200):
    response = jsonify(
        {
            "success": True,
            "data": data if data is not None else {},
            "message": message,
            "timestamp": _timestamp(),
        }
    )
    response.status_code = status
    return response


def error_response(status, code, message, fields=None, headers=None):
    response = jsonify(
        {
            "success": False,
            "error": {"code": code, "message": message, "fields": fields or {}},
            "message": message,
            "timestamp": _timestamp(),
        }
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def paginated(items, *, page, per_page, total):
    """A list payload with the pagination metadata every list endpoint carries."""
    pages = (total + per_page - 1) // per_page if per_page else 0
    return {
        "items": items,
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "has_next": page < pages,
            "has_prev": page > 1,
        },
    }
