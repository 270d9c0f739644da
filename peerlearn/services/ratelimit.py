"""Named rate limits for sign-in, sign-up, password reset, gifts and socket events, shared by pages,
the API and the live room.

Flask-Limiter provides the storage (memory in the embedded mode, Redis when configured); the
limits are applied here, per IP and per account, so the page and the API count together.

A Redis outage must not lock people out, nor open the door: while the storage cannot be reached
the same limits count in this process's memory (``LocalCounters``). The first failure logs one warning for the
outage; the storage is asked again at most every RATELIMIT_RECHECK_SECONDS (so a dead Redis costs
one quick connection attempt now and then, not one per request), and once it answers the limits
count there again. Counts made in memory stay in this process: with several web processes each
applies the limits on its own until Redis is back.

Limits that only one process needs to count (the live room's per-user event limits when a single
server process holds every socket, or when the storage is memory anyway) use ``attempt_here``: a
fixed window in this process's memory, a dictionary and a lock. Measured per event: ~2 us of CPU,
against ~4 us for the limits library's MemoryStorage and ~77 us (plus a round trip) for its Redis
storage; and MemoryStorage starts a timer thread to expire its keys, which under gevent makes
each hit wait on the hub: at 600 events/s that alone queued the room's events by seconds.
"""

import logging
import math
import threading
import time

from flask import current_app
from flask_babel import ngettext
from limits import parse
from limits.errors import StorageError
from limits.storage import MemoryStorage

from ..exceptions import RateLimited
from ..extensions import limiter

log = logging.getLogger(__name__)


def hit(scope, key, config_key):
    """Count one attempt of ``scope`` by ``key``; raise RateLimited when over the limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not key:
        return
    retry_after = attempt(parse(current_app.config[config_key]), "pl", scope, key)
    if retry_after is None:
        return
    raise RateLimited(wait_message(retry_after), retry_after=retry_after)


def wait_message(retry_after):
    """The refusal people read, in their language: seconds under a minute, else whole minutes
    rounded up (a wait of 61 seconds reads "2 minutes", never less than it is)."""
    if retry_after < 60:
        return ngettext(
            "Too many attempts. Please wait %(num)s second and try again.",
            "Too many attempts. Please wait %(num)s seconds and try again.",
            retry_after,
        )
    return ngettext(
        "Too many attempts. Please wait %(num)s minute and try again.",
        "Too many attempts. Please wait %(num)s minutes and try again.",
        math.ceil(retry_after / 60),
    )


def check(scope, key, config_key):
    """Raise RateLimited if ``scope`` by ``key`` is over its limit already, counting nothing."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not key:
        return
    item = parse(current_app.config[config_key])
    counters = _counters()
    if counters.run("test", item, "pl", scope, key):
        return
    reset_at, _remaining = counters.run("get_window_stats", item, "pl", scope, key)
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise RateLimited(wait_message(retry_after), retry_after=retry_after)


def reset(scope, key, config_key):
    """Forget earlier attempts, e.g. after a successful sign-in."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not key:
        return
    _counters().run("clear", parse(current_app.config[config_key]), "pl", scope, key)


def attempt(item, *identifiers):
    """Count one hit of the limit ``item`` for ``identifiers``. Returns None while within the
    limit, else the whole seconds until the window lets the next one through."""
    counters = _counters()
    if counters.run("hit", item, *identifiers):
        return None
    reset_at, _remaining = counters.run("get_window_stats", item, *identifiers)
    return max(1, math.ceil(reset_at - time.time()))


class LocalWindows:
    """Fixed windows counted in this process's memory: a window opens at its first hit and
    lets ``amount`` hits through until ``seconds`` have passed."""

    PRUNE_ABOVE = 50_000  # windows kept before the expired ones are swept out

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows = {}  # key -> [ends_at, hits]

    def attempt(self, amount, seconds, key):
        """Count one hit; None while within the limit, else whole seconds until the window ends."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or window[0] <= now:
                if len(self._windows) > self.PRUNE_ABOVE:
                    self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
                self._windows[key] = [now + seconds, 1]
                return None
            if window[1] >= amount:
                return max(1, math.ceil(window[0] - now))
            window[1] += 1
            return None

    def peek(self, key):
        """``(seconds left, hits)`` of the open window of ``key``, or None."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or window[0] <= now:
                return None
            return window[0] - now, window[1]

    def forget(self, key):
        with self._lock:
            self._windows.pop(key, None)

    def clear(self):
        with self._lock:
            self._windows.clear()


class LocalCounters:
    """The rate-limit strategy's calls (hit, test, get_window_stats, clear) on ``LocalWindows``:
    what the limits count in while the shared storage is unreachable. The limits library's own
    MemoryStorage would do, but it expires its keys from a timer thread, which under gevent makes
    every hit wait on the hub; during a Redis outage the live room's events would queue behind
    it."""

    def __init__(self, clock=time.monotonic):
        self.windows = LocalWindows(clock)

    def hit(self, item, *identifiers):
        return self.windows.attempt(item.amount, item.get_expiry(), item.key_for(*identifiers)) is None

    def test(self, item, *identifiers):
        window = self.windows.peek(item.key_for(*identifiers))
        return window is None or window[1] < item.amount

    def get_window_stats(self, item, *identifiers):
        """``(reset time as a Unix time, hits left)``, as the limits strategies answer."""
        window = self.windows.peek(item.key_for(*identifiers))
        if window is None:
            return time.time(), item.amount
        seconds_left, hits = window
        return time.time() + seconds_left, max(0, item.amount - hits)

    def clear(self, item, *identifiers):
        self.windows.forget(item.key_for(*identifiers))


def storage_is_shared():
    """Whether the configured storage is one other processes count in too (Redis), not memory."""
    return not isinstance(limiter.storage, MemoryStorage)


def attempt_here(item, *identifiers):
    """Like ``attempt``, counted in this process only (see the module docstring); each app
    has its own windows."""
    windows = current_app.extensions.get("peerlearn_local_limits")
    if windows is None:
        windows = current_app.extensions.setdefault("peerlearn_local_limits", LocalWindows())
    return windows.attempt(item.amount, item.get_expiry(), identifiers)


class _Counters:
    """The configured storage, or this process's memory while that storage is unreachable."""

    def __init__(self, storage, strategy):
        self.storage = storage
        self.shared = strategy
        self.memory = LocalCounters()
        # A memory storage has nothing to fall back from.
        self.errors = () if isinstance(storage, MemoryStorage) else (StorageError, storage.base_exceptions)
        self.lock = threading.Lock()
        self.down = False
        self.next_check = 0.0

    def run(self, method, *args):
        if self.down and not self._back():
            return getattr(self.memory, method)(*args)
        try:
            return getattr(self.shared, method)(*args)
        except self.errors as exc:
            self._went_away(exc)
            return getattr(self.memory, method)(*args)

    def _went_away(self, exc):
        with self.lock:
            self.next_check = time.monotonic() + _recheck_seconds()
            if self.down:
                return
            self.down = True
        log.warning(
            "Rate-limit storage unreachable (%s); limits count in this process's memory until it answers",
            exc,
        )

    def _back(self):
        """Ask the storage again if it is time to; True once it answers."""
        with self.lock:
            if time.monotonic() < self.next_check:
                return False
            # One caller asks; the others keep counting in memory meanwhile.
            self.next_check = time.monotonic() + _recheck_seconds()
        if not self.storage.check():
            return False
        with self.lock:
            was_down, self.down = self.down, False
        if was_down:
            log.warning("Rate-limit storage reachable again; limits count there again")
        return True


_state = {"counters": None}
_state_lock = threading.Lock()


def _counters():
    """The counters of the limiter's current storage (a new app's init_app may replace it)."""
    storage = limiter.storage
    counters = _state["counters"]
    if counters is None or counters.storage is not storage:
        with _state_lock:
            counters = _state["counters"]
            if counters is None or counters.storage is not storage:
                counters = _Counters(storage, limiter.limiter)
                _state["counters"] = counters
    return counters


def _recheck_seconds():
    return current_app.config.get("RATELIMIT_RECHECK_SECONDS", 5)
