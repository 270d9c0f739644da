"""The kinds of notification: how each is labelled, which view of the notification center lists
it, and what a notice that can be taken back is about (its ``collapse_key``).

Adding a kind: a member of ``NotificationKind`` (models/notification.py), its label and view
here, the event that tells of it in ``events.py`` (subscribed by name), and its email templates
under templates/emails/ when it has its own.
"""

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
    NotificationKind.BOOKING_CONFIRMED: "Booking confirmations and receipts",
    NotificationKind.BOOKING_CANCELLED: "Bookings cancelled",
    NotificationKind.PAYMENT_RECEIVED: "Payments received",
    NotificationKind.PAYMENT_FAILED: "Payments that failed",
    NotificationKind.SESSION_REMINDER: "Reminders before a session",
    NotificationKind.SESSION_STARTED: "A booked session has started",
    NotificationKind.SESSION_CANCELLED: "A booked session was cancelled",
    NotificationKind.SESSION_RESCHEDULED: "A booked session has a new time",
    NotificationKind.REFUND_PROCESSED: "Refunds processed",
    NotificationKind.GIFT_RECEIVED: "Gifts received",
    NotificationKind.NEW_REVIEW: "New reviews of your sessions",
    NotificationKind.NEW_FOLLOWER: "New followers",
    NotificationKind.MENTOR_PUBLISHED: "Mentors you follow publish a session",
    NotificationKind.REQUEST_RECEIVED: "Session requests received",
    NotificationKind.REQUEST_ANSWERED: "Your session requests answered",
    NotificationKind.PAYOUT_PAID: "Payouts paid",
    NotificationKind.SESSION_NOT_HELD: "A session was not held (refunds and strikes)",
    NotificationKind.DISPUTE_UPDATE: "Reported problems and their decisions",
    NotificationKind.WAITLIST_OFFER: "A seat opened in a session you are waiting for",
    NotificationKind.SECURITY: "Account security",
}

# The notification center's views: every kind is in exactly one group.
KIND_GROUPS = {
    "bookings": (
        "Bookings & payments",
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
        "Sessions",
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
        "Community",
        (
            NotificationKind.NEW_REVIEW,
            NotificationKind.NEW_FOLLOWER,
            NotificationKind.MENTOR_PUBLISHED,
            NotificationKind.REQUEST_RECEIVED,
            NotificationKind.REQUEST_ANSWERED,
        ),
    ),
    "account": ("Account", (NotificationKind.SECURITY,)),
}
