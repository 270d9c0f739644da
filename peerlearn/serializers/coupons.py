"""Coupons and their redemptions, as their owners and the learners who use them see them."""


def _iso(value):
    return value.isoformat() if value else None


def coupon_json(coupon, used=0, held=0):
    """A coupon for its owner (the mentor, or admins for a platform coupon), with its usage."""
    return {
        "id": coupon.id,
        "code": coupon.code,
        "funded_by": coupon.funded_by,
        "mentor_id": coupon.mentor_id,
        "kind": coupon.kind,
        "value": coupon.value,
        "min_price_paise": coupon.min_price_paise,
        "starts_at": _iso(coupon.starts_at),
        "expires_at": _iso(coupon.expires_at),
        "max_redemptions": coupon.max_redemptions,
        "max_per_learner": coupon.max_per_learner,
        "first_session_only": coupon.first_session_only,
        "active": coupon.active,
        "used": used,
        "awaiting_payment": held,
        "created_at": _iso(coupon.created_at),
    }


def redemption_json(redemption):
    """A coupon applied to a booking, as its learner sees it (a receipt's coupon lines)."""
    return {
        "code": redemption.code,
        "funded_by": redemption.funded_by,
        "list_price_paise": redemption.list_price_paise,
        "discount_paise": redemption.discount_paise,
        "price_paise": redemption.paid_paise,
        "status": redemption.status,
        "booking_id": redemption.booking_id,
    }
