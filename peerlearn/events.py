"""What happened, told to whoever reacts to it, so that a use case imports none of them.

A service records an event by name (``record("booking_confirmed", booking)``); the modules that
react subscribe at start-up (``peerlearn.subscriptions``): the notifications package tells people,
the jobs refresh recommendations or hand a refund to the gateway. Subscribers run at once, in the
caller's process and transaction, in the order they subscribed. An event recorded before the
commit (the notices) is written with the change and rolled back with it; an event recorded after
the commit (a refresh, a refund to send) starts work that needs the change to be visible.

Recording an event nobody listens to is a programming error (a misspelt name, or an app that was
never set up) and raises, instead of silently telling no one.
"""

_subscribers = {}


def subscribe(event, subscriber, handler):
    """Call ``handler(*args, **kwargs)`` whenever ``event`` is recorded. ``subscriber`` names who
    listens: subscribing again under the same name replaces the handler (each app set up in one
    process subscribes again)."""
    _subscribers.setdefault(event, {})[subscriber] = handler


def record(event, *args, **kwargs):
    """Tell every subscriber of ``event``; what they raise reaches the caller."""
    handlers = _subscribers.get(event)
    if not handlers:
        raise LookupError(f"nothing subscribes to the event {event!r}")
    for handler in list(handlers.values()):
        handler(*args, **kwargs)


def subscribed(event):
    """Who listens to ``event``, in the order they are told (for tests and diagnostics)."""
    return list(_subscribers.get(event, {}))
