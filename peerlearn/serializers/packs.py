"""Session packs and a learner's purchases of them, as the API shows them."""


def _time(value):
    return value.isoformat() if value else None


def pack_json(pack, sales=None):
    data = {
        "id": pack.id,
        "mentor_id": pack.mentor_id,
        "title": pack.title,
        "credits": pack.credits,
        "price_paise": pack.price_paise,
        "valid_days": pack.valid_days,
        "one_to_one_only": pack.one_to_one_only,
        "max_session_price_paise": pack.max_session_price_paise,
        "active": pack.active,
    }
    if sales is not None:
        data["sales"] = sales
    return data


def purchase_json(purchase):
    return {
        "id": purchase.id,
        "pack_id": purchase.pack_id,
        "title": purchase.pack.title,
        "mentor_id": purchase.mentor_id,
        "status": purchase.status,
        "credits": purchase.credits,
        "credits_left": purchase.credits_left if purchase.status == "active" else 0,
        "price_paise": purchase.price_paise,
        "expires_at": _time(purchase.expires_at),
        "payment_id": purchase.payment_id,
    }
