"""Named rate limits for sign-in, sign-up and password reset, shared by pages and the API.

Flask-Limiter provides the storage (memory in the embedded mode, Redis when configured); the
limits are applied here, per IP and per account, so the page and the API count together.
"""

import math
import time

from flask import current_app
from limits import parse

from ..exceptions import RateLimited
from ..extensions import limiter


def hit(scope, key, config_key):
    """Count one attempt of ``scope`` by ``key``; raise RateLimited when over the limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not key:
        return
    item = parse(current_app.config[config_key])
    if limiter.limiter.hit(item, "pl", scope, key):
        return
    reset_at, _remaining = limiter.limiter.get_window_stats(item, "pl", scope, key)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    minutes = max(1, math.ceil(retry_after / 60))
    unit = "minute" if minutes == 1 else "minutes"
    raise RateLimited(
        f"Too many attempts. Please wait {minutes} {unit} and try again.", retry_after=retry_after
    )


def reset(scope, key, config_key):
    """Forget earlier attempts, e.g. after a successful sign-in."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not key:
        return
    limiter.limiter.clear(parse(current_app.config[config_key]), "pl", scope, key)
