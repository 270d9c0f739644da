"""What a Socket.IO test client receives, in order, with waiting for the event that matches."""

import threading


class Inbox:
    """Every event a socket receives, in order, with waiting for one that matches (failing after
    ``timeout`` seconds: generous, nothing here measures speed)."""

    def __init__(self, timeout=20):
        self.timeout = timeout
        self._events = []
        self._changed = threading.Condition()

    def record(self, event, *args):
        with self._changed:
            self._events.append((event, args[0] if args else None))
            self._changed.notify_all()

    def payloads(self, event):
        with self._changed:
            return [payload for name, payload in self._events if name == event]

    def wait_for(self, event, where=lambda payload: True):
        """The first ``event`` whose payload satisfies ``where``."""

        def found():
            return next((p for p in self.payloads(event) if where(p)), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout=self.timeout)
        payload = found()
        assert payload is not None, f"no {event!r} arrived; received: {[name for name, _ in self._events]}"
        return payload
