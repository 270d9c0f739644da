"""The numbers the rules are made of, each written once: the forms, the API, the services and the
socket handlers import them from here, so a page and an API call refuse the same input with the
same message. Parsing helpers that apply them live in ``peerlearn.inputs``.

Limits the database enforces stay beside their column (``models``) and are named here too, so a
caller needs one import whatever the rule's origin.
"""

from .models import MAX_CAPACITY, MIN_PAID_PRICE_PAISE

__all__ = [
    "ADMIN_PER_PAGE",
    "API_MAX_PER_PAGE",
    "API_PER_PAGE",
    "CATALOG_MAX_PAGE",
    "CATALOG_MAX_PER_PAGE",
    "CATALOG_PER_PAGE",
    "DURATION_MESSAGE",
    "LIST_PER_PAGE",
    "MAX_BIO_LENGTH",
    "MAX_CAPACITY",
    "MAX_DESCRIPTION_LENGTH",
    "MAX_DURATION_MINUTES",
    "MAX_HEADLINE_LENGTH",
    "MAX_HOURLY_RATE_PAISE",
    "MAX_NAME_LENGTH",
    "MAX_PAGE",
    "MAX_PRICE_PAISE",
    "MAX_PRICE_RUPEES",
    "MAX_QUERY_LENGTH",
    "MAX_TITLE_LENGTH",
    "MAX_YEAR",
    "MIN_DURATION_MINUTES",
    "MIN_PAID_PRICE_PAISE",
    "MIN_TITLE_LENGTH",
    "MIN_YEAR",
    "NOTIFICATIONS_PER_PAGE",
    "PRICE_MESSAGE",
    "SEATS_MESSAGE",
]

# ----- money (integer paise) -------------------------------------------------------------------

# A seat's price, and what a learner may offer or a mentor ask for a requested session: ₹1,00,000.
MAX_PRICE_PAISE = 10_000_000
MAX_PRICE_RUPEES = MAX_PRICE_PAISE // 100
PRICE_MESSAGE = "Between ₹0 and ₹1,00,000."
# A mentor's hourly rate: ₹10 lakh an hour is more than anyone charges.
MAX_HOURLY_RATE_PAISE = 100_000_000

# ----- a session -------------------------------------------------------------------------------

MIN_TITLE_LENGTH = 3
MAX_TITLE_LENGTH = 120  # LearningSession.title's column length
MAX_DESCRIPTION_LENGTH = 5000
MIN_DURATION_MINUTES = 15
MAX_DURATION_MINUTES = 8 * 60
DURATION_MESSAGE = "Between 15 minutes and 8 hours."
SEATS_MESSAGE = f"Between 1 and {MAX_CAPACITY} seats."

# ----- a profile -------------------------------------------------------------------------------

MAX_NAME_LENGTH = 100
MAX_HEADLINE_LENGTH = 120
MAX_BIO_LENGTH = 5000

# ----- dates -----------------------------------------------------------------------------------

# The years a date filter accepts.
MIN_YEAR, MAX_YEAR = 2000, 2999

# ----- lists -----------------------------------------------------------------------------------

# The last page number a list accepts: past it nothing is left to show, and a larger number
# multiplied into an OFFSET would overflow.
MAX_PAGE = 100_000
# The longest search words a list's query string takes (the catalog, the admin lists) and a
# search the interaction log keeps.
MAX_QUERY_LENGTH = 200
# Notifications a page of the notification centre shows (the API asks for its own per_page).
NOTIFICATIONS_PER_PAGE = 25
# Rows a page of someone's own list shows: bookings, sessions, mentors followed, a mentor's reviews.
LIST_PER_PAGE = 20
# Rows a page of an admin list shows (users, sessions, payments, refunds, payouts, reviews, audit).
ADMIN_PER_PAGE = 25
# Cards a page of the catalog or the mentor directory shows, and the most the API may ask for.
# The catalog's last page is lower than MAX_PAGE: its API document promises 10,000.
CATALOG_PER_PAGE = 12
CATALOG_MAX_PER_PAGE = 50
CATALOG_MAX_PAGE = 10_000
# An API list's page size when the caller asks for none, and the most it may ask for.
API_PER_PAGE = 20
API_MAX_PER_PAGE = 100
