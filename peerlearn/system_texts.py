"""Sentences PeerLearn itself writes into the database, stored in English and read in the
reader's language.

A refund's reason, why a booking or a session was cancelled, a recording's progress step, why
a webhook was turned off: the services store these in English, and the API, the webhooks and
the exports hand them on as stored (the API compatibility promise). Pages, emails and
notifications show them through ``translate`` (the ``system_text`` filter), which knows every
sentence written here:

- a sentence (``BOOKING_CANCELLED``) becomes its translation;
- a pattern (``BY_AN_ADMIN``, "By an admin: %(reason)s") is stored filled in with ``fill``, and
  shown with its own words translated and the values (an admin's words, a number) as written;
- anything else is someone's own words, shown as they are.

The services take the English from here, never from a literal, so a stored sentence and its
translation cannot drift apart. A wording changed here keeps the old one registered beside it
(marked, translated, no longer written): rows written before still hold it.
"""

import re

from flask_babel import LazyString, gettext

_SENTENCES = set()
_PATTERNS = []  # (the English pattern, a regular expression matching a stored text made from it)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def N_(english):
    """Mark ``english`` as a stored sentence (or pattern) with a translation; returns it as it is."""
    if _PLACEHOLDER.search(english):
        _PATTERNS.append((english, _matcher(english)))
    else:
        _SENTENCES.add(english)
    return english


def _matcher(pattern):
    pieces = _PLACEHOLDER.split(pattern)  # words, name, words, name, ..., words
    names = pieces[1::2]
    expression = re.escape(pieces[0])
    for index, name in enumerate(names):
        last = index == len(names) - 1
        expression += f"(?P<{name}>.*)" if last else f"(?P<{name}>.*?)"
        expression += re.escape(pieces[2 * index + 2])
    return re.compile(expression, re.DOTALL)


def fill(pattern, **values):
    """The English to store for ``pattern`` with ``values`` (kept as given)."""
    return pattern % values


def registry():
    """Every stored sentence and pattern, in English."""
    return sorted(_SENTENCES) + [pattern for pattern, _matcher in _PATTERNS]


def translate(text):
    """``text`` as stored, in the language spoken now (see the module's docstring)."""
    if not text:
        return text
    if text in _SENTENCES:
        return gettext(text)
    for pattern, matcher in _PATTERNS:
        found = matcher.fullmatch(text)
        if found is not None:
            return gettext(pattern, **found.groupdict())
    return text


def lazy(text):
    """``translate(text)`` when it becomes text: in a notification, the recipient's language."""
    return LazyString(translate, text)


# --- why money went back (refunds.reason, refunds.failure_reason) ------------------------------

BOOKING_CANCELLED = N_("Booking cancelled")
SESSION_CANCELLED = N_("Session cancelled")
SESSION_NOT_HELD = N_("Session not held")
MOVED_TO_CHEAPER_SESSION = N_("Moved to a lower-priced session")
PAID_TWICE = N_("Paid twice for one seat")
PAID_AFTER_RELEASE = N_("Paid after the seat was released; no seat was free")
GIFT_NOT_HELD = N_("A gift for a session that did not take place")
PACK_EXPIRED = N_("Unused pack credits at expiry")
PACK_MENTOR_GONE = N_("Unused pack credits: the mentor's account was suspended or deleted")
PACK_CREDIT_AFTER_CLOSE = N_("A pack credit given back after the pack closed")
MOVE_NOT_PLACED = N_("Booking could not move to the paid session")
BY_AN_ADMIN = N_("By an admin: %(reason)s")
PACK_BY_AN_ADMIN = N_("Unused pack credits, by an admin: %(reason)s")
DISPUTE = N_("Dispute #%(number)s: %(reason)s")
REFUND_FAILED = N_("refund failed")
REFUND_FAILED_AT_GATEWAY = N_("refund failed at the gateway")

# --- why a booking or a session was cancelled (bookings.cancel_reason, sessions.cancel_reason) --

CANCELLED_BY_MENTOR = N_("Session cancelled by the mentor")
CANCELLED_BY_ADMIN = N_("Session cancelled by an admin")
BOOKING_NOT_HELD = N_("The session was not held")
LEFT_WAITLIST = N_("Left the waitlist")
ACCOUNT_DELETED = N_("Account deleted")
MENTOR_DELETED_ACCOUNT = N_("The mentor deleted their account")
OFF_WAITLIST_BY_ADMIN = N_("Taken off the waitlist by an admin: %(reason)s")

# A session settled as not held (sessions.cancel_reason, and the mentor's strike).
NOT_HELD_ABSENT = N_("Not held: the mentor didn't come to the room (at least %(needed)s minutes are needed).")
NOT_HELD_ABSENT_REFUNDED = N_(
    "Not held: the mentor didn't come to the room (at least %(needed)s minutes are needed). "
    "Everyone who paid is refunded in full."
)
NOT_HELD_SHORT = N_(
    "Not held: the mentor was in the room for %(minutes)s of its %(duration)s minutes "
    "(at least %(needed)s minutes are needed)."
)
NOT_HELD_SHORT_REFUNDED = N_(
    "Not held: the mentor was in the room for %(minutes)s of its %(duration)s minutes "
    "(at least %(needed)s minutes are needed). Everyone who paid is refunded in full."
)

# --- a payment set aside (payments.failure_reason) ----------------------------------------------

COUPON_CHANGED_AMOUNT = N_("Set aside: a coupon changed the amount to pay.")
PAYMENT_FAILED = N_("The payment failed.")  # when the gateway gives no reason of its own

# --- a learner's request answered for the mentor (session_requests.response_note) ---------------

MENTOR_ACCOUNT_DELETED = N_("The mentor's account was deleted.")

# --- a recording: the composing job's steps (recordings.progress_step), the chapters it makes and
# why it was deleted (recordings.delete_reason). The waiting page's script knows the steps too
# (js/components/recording-progress.js): it hears them from the job and the API in English.

STEP_WAITING = N_("Waiting to be composed")
STEP_STARTING = N_("Starting")
STEP_READING = N_("Reading the feeds")
STEP_UNPACKING = N_("Unpacking feed %(number)s of %(count)s")
STEP_COMPOSING = N_("Composing part %(number)s of %(count)s")
STEP_JOINING = N_("Joining the parts")
STEP_COMPOSED = N_("Composed")
STEP_STORING = N_("Storing the file")
STEP_READY = N_("Ready")
STEP_FAILED = N_("Failed")
RECORDING_STEPS = (
    STEP_WAITING,
    STEP_STARTING,
    STEP_READING,
    STEP_UNPACKING,
    STEP_COMPOSING,
    STEP_JOINING,
    STEP_COMPOSED,
    STEP_STORING,
    STEP_READY,
    STEP_FAILED,
)

CHAPTER_START = N_("Start")
CHAPTER_SCREEN_SHARE = N_("Screen share: %(name)s")

DELETED_BY_MENTOR = N_("deleted by the mentor")
DELETED_BY_ADMIN = N_("deleted by an admin")
DELETED_AT_RETENTION = N_("kept for the retention period, then removed")
DELETED_SESSION_CANCELLED = N_("the session was cancelled, so nobody can watch it")

# --- a webhook endpoint turned off (webhook_endpoints.disabled_reason) -------------------------

WEBHOOK_DISABLED_BY_OWNER = N_("Disabled by you.")
WEBHOOK_DISABLED_AFTER_FAILURES = N_("Disabled after %(limit)s failed deliveries in a row.")
WEBHOOK_DISABLED_IN_DEMO = N_("Disabled in the demo data: nothing listens at this address.")
