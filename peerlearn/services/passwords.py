"""Password hashing (Argon2id) and the password policy.

An Argon2 hash or check is a fifth of a second of CPU and 64 MiB of memory by design, so it runs
in services/offload.py's pool of PASSWORD_HASH_CONCURRENCY slots: under gevent (production) in
that many OS threads, which argon2-cffi lets run without the GIL, so a burst of sign-ins does not
stall every other request of the process; elsewhere (the threading server, tests, workers) in the
caller's thread. PASSWORD_HASH_OFFLOAD=False hashes on the event loop, as before, for
bench/login_burst.py to compare against.
"""

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from ..exceptions import ValidationError
from . import offload


@lru_cache(maxsize=8)
def _hasher(time_cost, memory_cost):
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hasher():
    config = current_app.config
    return _hasher(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"])


def hash_password(password):
    return _hashers().run(hasher().hash, password)


def verify_password(password_hash, password):
    return _hashers().run(_verify, hasher(), password_hash, password)


def _verify(password_hasher, password_hash, password):
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _hashers():
    """This process's hashing slots: by default one for every two CPUs, so a burst of sign-ins
    leaves the event loop a core of its own."""
    app = current_app._get_current_object()
    return offload.pool_for(
        app,
        "password_hashers",
        app.config["PASSWORD_HASH_CONCURRENCY"],
        offload=app.config["PASSWORD_HASH_OFFLOAD"],
    )


def needs_rehash(password_hash):
    return hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords():
    """The 30,000 most common leaked passwords, from the zxcvbn frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password, *, email="", name=""):
    """Raise ValidationError(fields={'password': ...}) when the password is too weak."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    problem = None
    if len(password) < min_length:
        problem = _("Use at least %(count)s characters.", count=min_length)
    elif len(password) > 256:
        problem = _("Use at most 256 characters.")
    elif password.lower() in common_passwords() or len(set(password)) < 4:
        problem = _("This password is too common. Choose something less predictable.")
    else:
        lowered = password.lower()
        local_part = email.split("@")[0].lower()
        if local_part and len(local_part) >= 4 and local_part in lowered:
            problem = _("Don't use your email address in your password.")
        elif name and name.strip() and name.strip().lower().replace(" ", "") == lowered:
            problem = _("Don't use your name as your password.")
    if problem:
        raise ValidationError(problem, fields={"password": [problem]})
