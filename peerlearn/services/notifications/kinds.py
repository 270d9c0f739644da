"""The kinds of notification: how each is labelled, which view of the notification center lists
it, and what a notice that can be taken back is about (its ``collapse_key``).

Adding a kind: a member of ``NotificationKind`` (models/notification.py), its label and view
here, the event that tells of it in ``events.py`` (subscribed by name), and its email templates
under templates/emails/ when it has its own.
"""

from flask_babel import lazy_gettext as _l

from ...models import (
    NotificationKind,
)


def follow_key(follower_id, mentor_id):
    """What a new-follower notice is about: one follower following one mentor."""
    return f"follow:{follower_id}:{mentor_id}"


def request_key(request_id):
    """What a mentor's notice of a new session request is about."""
    return f"request:{request_id}"


# What each kind is called on the preferences page.
KIND_LABELS = {
    NotificationKind.BOOKING_CONFIRMED: _l("Booking confirmations and receipts"),
    NotificationKind.BOOKING_CANCELLED: _l("Bookings cancelled"),
    NotificationKind.PAYMENT_RECEIVED: _l("Payments received"),
    NotificationKind.PAYMENT_FAILED: _l("Payments that failed"),
    NotificationKind.SESSION_REMINDER: _l("Reminders before a session"),
    NotificationKind.SESSION_STARTED: _l("A booked session has started"),
    NotificationKind.SESSION_CANCELLED: _l("A booked session was cancelled"),
    NotificationKind.SESSION_RESCHEDULED: _l("A booked session has a new time"),
    NotificationKind.REFUND_PROCESSED: _l("Refunds processed"),
    NotificationKind.GIFT_RECEIVED: _l("Gifts received"),
    NotificationKind.NEW_REVIEW: _l("New reviews of your sessions"),
    NotificationKind.NEW_FOLLOWER: _l("New followers"),
    NotificationKind.MENTOR_PUBLISHED: _l("Mentors you follow publish a session"),
    NotificationKind.REQUEST_RECEIVED: _l("Session requests received"),
    NotificationKind.REQUEST_ANSWERED: _l("Your session requests answered"),
    NotificationKind.PAYOUT_PAID: _l("Payouts paid"),
    NotificationKind.SESSION_NOT_HELD: _l("A session was not held (refunds and strikes)"),
    NotificationKind.DISPUTE_UPDATE: _l("Reported problems and their decisions"),
    NotificationKind.WAITLIST_OFFER: _l("A seat opened in a session you are waiting for"),
    NotificationKind.SECURITY: _l("Account security"),
}

# The notification center's views: every kind is in exactly one group.
KIND_GROUPS = {
    "bookings": (
        _l("Bookings & payments"),
        (
            NotificationKind.BOOKING_CONFIRMED,
            NotificationKind.BOOKING_CANCELLED,
            NotificationKind.PAYMENT_RECEIVED,
            NotificationKind.PAYMENT_FAILED,
            NotificationKind.REFUND_PROCESSED,
            NotificationKind.GIFT_RECEIVED,
            NotificationKind.PAYOUT_PAID,
            NotificationKind.DISPUTE_UPDATE,
        ),
    ),
    "sessions": (
        _l("Sessions"),
        (
            NotificationKind.SESSION_REMINDER,
            NotificationKind.SESSION_STARTED,
            NotificationKind.SESSION_CANCELLED,
            NotificationKind.SESSION_RESCHEDULED,
            NotificationKind.SESSION_NOT_HELD,
            NotificationKind.WAITLIST_OFFER,
        ),
    ),
    "community": (
        _l("Community"),
        (
            NotificationKind.NEW_REVIEW,
            NotificationKind.NEW_FOLLOWER,
            NotificationKind.MENTOR_PUBLISHED,
            NotificationKind.REQUEST_RECEIVED,
            NotificationKind.REQUEST_ANSWERED,
        ),
    ),
    "account": (_l("Account"), (NotificationKind.SECURITY,)),
}
