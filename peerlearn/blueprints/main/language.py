"""Choosing the language: the switcher in the footer and the settings page's select post here;
the choice is kept in the ``lang`` cookie and, for a signed-in person, on their account, so it
follows them to other browsers and into their emails and notifications.

Sign-in reconciles the two (``user_logged_in``): an account that never chose takes this
browser's choice, an account that chose sets this browser's cookie to it. Signing out leaves the
cookie, so the page after it speaks the same language."""

from datetime import timedelta
from urllib.parse import urlsplit

import flask_babel
from flask import after_this_request, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, user_logged_in

from ...exceptions import DomainError
from ...extensions import csrf
from ...headers import origin
from ...i18n import COOKIE
from ...security import acts_without_identity
from ...services import languages
from . import bp

COOKIE_AGE = timedelta(days=365)


def remember_language(response, language):
    """Set the ``lang`` cookie to ``language`` for a year on ``response``."""
    response.set_cookie(
        COOKIE,
        language,
        max_age=int(COOKIE_AGE.total_seconds()),
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response


def local_next(target):
    """``target`` when it is a path on this site, else None (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _same_site():
    """Whether the browser says this post came from one of our own pages: Sec-Fetch-Site where
    it sends one, else Origin, compared with the site's address and the Host the browser asked
    (a comparison, not a link: links are built by peerlearn.links). A request with neither is not
    a browser's cross-site form."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    sent = request.headers.get("Origin")
    if sent is None:
        return True
    ours = {
        origin(current_app.config.get("PUBLIC_BASE_URL") or ""),
        f"{request.scheme}://{request.headers.get('Host', '')}",
    }
    return sent in ours


@bp.post("/language")
@acts_without_identity  # a visitor's pages issue no CSRF token; see the checks below
def set_language():
    # A visitor's choice only sets this browser's cookie; a signed-in person's also saves it on
    # their account, so that write is CSRF-checked like any other form.
    if current_user.is_authenticated:
        csrf.protect()
    elif not _same_site():
        raise DomainError(_("This form came from another site."), code="cross_site_form")
    language = languages.parse_language(request.form.get("language"))
    if current_user.is_authenticated:
        languages.save_language(current_user, language)
    back = local_next(request.form.get("next")) or url_for("main.index")
    return remember_language(redirect(back, 303), language)


@user_logged_in.connect
def _reconcile_language(app, user, **extra):
    """At sign-in: see the module's note."""
    cookie = request.cookies.get(COOKIE)
    language = languages.adopt_language(user, cookie)
    flask_babel.refresh()  # this request's later text speaks the account's language
    if language is not None and language != cookie:

        @after_this_request
        def _set_cookie(response):
            return remember_language(response, language)
