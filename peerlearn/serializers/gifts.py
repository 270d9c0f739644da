"""A gift as the room shows it: in the API's answer to the sender, in the room's history when a
socket joins, and in the ``gift:received`` event everyone in the room gets."""


def gift_json(gift):
    return {
        "id": gift.id,
        "session_id": gift.session_id,
        "sender_id": gift.sender_id,
        "sender_name": gift.sender.name,
        "amount_paise": gift.amount_paise,
        "message": gift.message,
        "status": gift.status,
        "created_at": gift.created_at.isoformat(),
        "paid_at": gift.paid_at.isoformat() if gift.paid_at else None,
    }
