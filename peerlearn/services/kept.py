"""Values kept in this process between requests, each under a key with the stamp it was made for
(a version: when the stamp moves on, the value is stale) and an expiry, at most ``max_entries``
of them (past that the oldest quarter is dropped). Cached fragments (services/fragments.py) and
the bell's unread counts (services/notifications/counts.py) keep theirs here."""

import threading
import time


class Kept:
    def __init__(self, max_entries):
        self.max_entries = max_entries
        self._entries = {}  # key -> (stamp, expires at, value)
        self._lock = threading.Lock()

    def get(self, key, stamp, ttl, build):
        """The value kept under ``key`` for ``stamp`` and not expired, else ``build()``, kept
        for ``stamp`` and ``ttl`` seconds. Read the stamp before building: a change during the
        build then makes the value stale at once."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp and entry[1] > now:
            return entry[2]
        value = build()
        with self._lock:
            if len(self._entries) >= self.max_entries:
                for old in list(self._entries)[: self.max_entries // 4]:
                    self._entries.pop(old, None)
            self._entries[key] = (stamp, now + ttl, value)
        return value

    def drop(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)
