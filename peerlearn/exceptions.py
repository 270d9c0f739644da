"""Domain errors raised by services.

Blueprints, the JSON API and socket handlers map them to flashes, status codes or error events;
each carries the HTTP status and a stable machine-readable code.
"""


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, *, fields=None, code=None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationError(DomainError):
    status = 422
    code = "validation_error"


class AuthenticationError(DomainError):
    status = 401
    code = "authentication_failed"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TokenInvalid(DomainError):
    status = 400
    code = "token_invalid"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class PaymentRejected(DomainError):
    """A payment proof (signature, amount, order) that does not hold up."""

    status = 400
    code = "payment_rejected"


class GatewayUnavailable(DomainError):
    status = 503
    code = "gateway_unavailable"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class MediaUnavailable(DomainError):
    """The room's media server cannot be used right now (or none is configured)."""

    status = 503
    code = "media_unavailable"
