"""What PeerLearn tells people, in the app and by email (docs/notifications.md).

- ``kinds``: the kinds of notification, their labels and views, and what an undoable notice is
  about (``follow_key``, ``request_key``).
- ``events``: what each event a service records tells whom, in words; subscribed to
  ``peerlearn.events`` when the app is created. Services never import it.
- ``inbox``: ``notify()``, the one way a notification is written, and the notification center
  (read, count, mark read, take back, push to open pages).
- ``preferences``: what each user wants of each kind, and the one-click unsubscribe links.
- ``email``: the email that goes with a notification, and the caps that keep social email in
  proportion.

Delivery is the outbox's (``services.outbox``): what ``notify()`` stages goes out after the
commit. Adding a kind: its ``NotificationKind``, its label and view in ``kinds``, a function named
as its event in ``events`` (listed in ``EVENTS``), and its email templates when it has its own.

The names below are the package's interface to the rest of the app.
"""

from .email import Email, cap_reason, drop_waiting_email, label_email
from .inbox import (
    Retracted,
    announce,
    announce_removed,
    mark_read,
    notification_json,
    notifications_for,
    notify,
    present,
    retract,
    unread_count,
)
from .kinds import KIND_GROUPS, KIND_LABELS, follow_key, request_key
from .preferences import (
    preference,
    preferences,
    read_unsubscribe_token,
    set_preference,
    set_preferences,
    unsubscribe_token,
    unsubscribe_url,
)

__all__ = [
    "KIND_GROUPS",
    "KIND_LABELS",
    "Email",
    "Retracted",
    "announce",
    "announce_removed",
    "cap_reason",
    "drop_waiting_email",
    "follow_key",
    "label_email",
    "mark_read",
    "notification_json",
    "notifications_for",
    "notify",
    "preference",
    "preferences",
    "present",
    "read_unsubscribe_token",
    "request_key",
    "retract",
    "set_preference",
    "set_preferences",
    "unread_count",
    "unsubscribe_token",
    "unsubscribe_url",
]
