"""Every model, re-exported so Alembic and the rest of the app see all tables from one import."""

from .auth import AccountToken, AuthKind, AuthSession, TokenPurpose, hash_token
from .base import TimestampMixin, UTCDateTime, utcnow
from .booking import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus
from .community import AuditEntry, Follow, RequestStatus, Review, SessionRequest
from .coupon import (
    COUNTED_REDEMPTION_STATUSES,
    Coupon,
    CouponFunder,
    CouponKind,
    CouponRedemption,
    RedemptionStatus,
)
from .dev_gateway import DevGatewayObject
from .email import EmailStatus, OutboundEmail
from .learning_session import (
    CATEGORIES,
    LANGUAGES,
    MAX_CAPACITY,
    MIN_PAID_PRICE_PAISE,
    LearningSession,
    SessionLevel,
    SessionStatus,
    session_skills,
)
from .ledger import PAYMENT_KINDS, REFUND_KINDS, EntryKind, LedgerEntry, Payout, PayoutStatus
from .notification import TRANSACTIONAL_KINDS, Notification, NotificationKind, NotificationPreference
from .pack import CreditStatus, PackCredit, PackPurchase, PurchaseStatus, SessionPack
from .payment import Payment, PaymentPurpose, PaymentStatus, Refund, RefundStatus, WebhookEvent
from .push import PushSubscription
from .recommendation import (
    Interaction,
    InteractionKind,
    LearnerRecommendations,
    RecommenderState,
    SimilarSessions,
)
from .recording import Recording, RecordingConsent, RecordingStatus
from .reminder import ReminderKind, SessionReminder
from .room import Attendance, ChatMessage, Gift, GiftStatus, MediaMode, MediaRoom, RoomRemoval
from .room_document import RoomDocument
from .trust import (
    DISPUTE_REASON_LABELS,
    Dispute,
    DisputeReason,
    DisputeStatus,
    MentorStrike,
    PayoutAccount,
    PayoutMethodKind,
)
from .user import SELF_SERVICE_ROLES, Role, Skill, User, user_interests, user_skills
from .waitlist import OPEN_WAITLIST_STATUSES, WaitlistEntry, WaitlistStatus
from .webhook import WEBHOOK_EVENT_TYPES, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .your_data import DataExport, DeletionReview, ExportStatus, ReviewDecision

__all__ = [
    "ACTIVE_BOOKING_STATUSES",
    "CATEGORIES",
    "COUNTED_REDEMPTION_STATUSES",
    "DISPUTE_REASON_LABELS",
    "LANGUAGES",
    "MAX_CAPACITY",
    "MIN_PAID_PRICE_PAISE",
    "OPEN_WAITLIST_STATUSES",
    "PAYMENT_KINDS",
    "REFUND_KINDS",
    "SELF_SERVICE_ROLES",
    "TRANSACTIONAL_KINDS",
    "WEBHOOK_EVENT_TYPES",
    "AccountToken",
    "Attendance",
    "AuditEntry",
    "AuthKind",
    "AuthSession",
    "Booking",
    "BookingStatus",
    "ChatMessage",
    "Coupon",
    "CouponFunder",
    "CouponKind",
    "CouponRedemption",
    "CreditStatus",
    "DataExport",
    "DeletionReview",
    "DeliveryStatus",
    "DevGatewayObject",
    "Dispute",
    "DisputeReason",
    "DisputeStatus",
    "EmailStatus",
    "EntryKind",
    "ExportStatus",
    "Follow",
    "Gift",
    "GiftStatus",
    "Interaction",
    "InteractionKind",
    "LearnerRecommendations",
    "LearningSession",
    "LedgerEntry",
    "MediaMode",
    "MediaRoom",
    "MentorStrike",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "OutboundEmail",
    "PackCredit",
    "PackPurchase",
    "Payment",
    "PaymentPurpose",
    "PaymentStatus",
    "Payout",
    "PayoutAccount",
    "PayoutMethodKind",
    "PayoutStatus",
    "PurchaseStatus",
    "PushSubscription",
    "RecommenderState",
    "Recording",
    "RecordingConsent",
    "RecordingStatus",
    "RedemptionStatus",
    "Refund",
    "RefundStatus",
    "ReminderKind",
    "RequestStatus",
    "Review",
    "ReviewDecision",
    "Role",
    "RoomDocument",
    "RoomRemoval",
    "SessionLevel",
    "SessionPack",
    "SessionReminder",
    "SessionRequest",
    "SessionStatus",
    "SimilarSessions",
    "Skill",
    "TimestampMixin",
    "TokenPurpose",
    "UTCDateTime",
    "User",
    "WaitlistEntry",
    "WaitlistStatus",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "hash_token",
    "session_skills",
    "user_interests",
    "user_skills",
    "utcnow",
]
