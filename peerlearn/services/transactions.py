"""A use case owns its transaction: it commits once when it is done, and when it fails, what it
wrote is rolled back before the error reaches the page, the API or the socket handler that
called it, so none of them has to roll back, and none can re-render from half-made rows."""

import functools

from ..extensions import db


def use_case(function):
    """Roll the session back when ``function`` raises (a domain error or anything else), then
    let the error through. ``function`` commits its own work; this only undoes a failure."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return run
