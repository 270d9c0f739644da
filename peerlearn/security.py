"""Who is asking: Flask-Login loaders, CSRF for cookie-authenticated writes, capability guards."""

from functools import wraps

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from .api_envelope import error_response
from .extensions import csrf, login_manager
from .models import AuthKind
from .services import auth

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def bearer_token():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    # Sessions are server-side records; Flask-Login's IP/agent heuristics would only add noise.
    login_manager.session_protection = None

    @login_manager.user_loader
    def load_from_cookie(token):
        if bearer_token() is not None:
            return None  # a request that presents a token is judged by that token alone
        return auth.user_for_token(token, AuthKind.WEB)

    @login_manager.request_loader
    def load_from_bearer(req):
        token = bearer_token()
        return auth.user_for_token(token, AuthKind.API) if token else None

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return error_response(401, "authentication_required", _("Log in to continue."))
        flash(str(login_manager.login_message), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def protect_cookie_writes():
        if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.routing_exception is not None:
            return  # let the 404/405 answer
        if bearer_token() is not None:
            return  # a bearer token cannot be sent by another site's form
        view = current_app.view_functions.get(request.endpoint)
        if getattr(view, "_acts_without_identity", False):
            return
        if request.blueprint == "api" and "_user_id" not in session:
            return  # no cookie identity to borrow, so nothing to forge
        csrf.protect()


def acts_without_identity(view):
    """Mark an API write that never uses the caller's cookie identity (log in, register,
    redeem an emailed token): a forged cross-site request could gain nothing, so no CSRF check."""
    view._acts_without_identity = True
    return view


def wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def sign_in(user, *, remember=False):
    """Start a browser session: a fresh server record and a fresh cookie (no fixation)."""
    session.clear()
    auth_session = auth.start_session(
        user,
        AuthKind.WEB,
        remember=remember,
        ip_address=request.remote_addr or "",
        user_agent=request.user_agent.string,
    )
    session.permanent = remember
    login_user(user)
    return auth_session


def sign_out():
    """End this browser's session on the server, then drop the cookie."""
    if current_user.is_authenticated:
        auth.end_session(current_user.current_auth_session)
    logout_user()
    session.clear()


def role_required(*capabilities):
    """Allow only signed-in users holding one of ``capabilities`` (Role values: learner, mentor,
    admin; 403 for the others). Every account learns, so ``Role.LEARNER`` only asks for a sign-in."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not any(current_user.can(capability) for capability in capabilities):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def home_url_for(user):
    """Where a user lands after signing in."""
    if user.is_admin:
        return url_for("dashboards.admin")
    if user.is_mentor:
        return url_for("dashboards.mentor")
    return url_for("dashboards.learner")
