"""A learning record (services.learning_record) as JSON, and the links a record carries, built
here once for the pages (relative, ``url_for``) and the API (absolute, ``external_url``)."""

from ..links import external_url
from .room import chat_message_json
from .sessions import session_summary


def record_links(record, build):
    """The record's links, made by ``build(endpoint, **values)``: ``url_for`` for a page,
    ``external_url`` for the API. A link is None (or the list empty) where there is nothing to
    open: the recording's page for those who may watch it (the video, or how its preparation is
    going), the notes and whiteboard downloads when the room kept any, the booking's page and
    the review form for the learner alone."""
    session = record.session
    learner = record.booking is not None and record.viewer_role == "learner"
    documents = record.documents
    return {
        "session": build("sessions.detail", session_id=session.id),
        "booking": build("booking.detail", booking_id=record.booking.id) if learner else None,
        "recording": build("sessions.recording", session_id=session.id) if record.recording.page else None,
        "notes": build("sessions.notes_markdown", session_id=session.id)
        if record.documents.has_notes
        else None,
        "whiteboard": [
            (page, build("sessions.whiteboard_png", session_id=session.id, page=page))
            for page in documents.whiteboard_pages
        ],
        "review": build("community.write_review", session_id=session.id) if record.can_review else None,
    }


def _time(value):
    return value.isoformat() if value else None


def _review_json(review):
    return {
        "id": review.id,
        "learner_id": review.learner_id,
        "rating": review.rating,
        "body": review.body,
        "minutes_attended": review.minutes_attended,
        "created_at": review.created_at.isoformat(),
        "reply": {"body": review.reply, "replied_at": _time(review.replied_at)} if review.reply else None,
        "hidden": review.hidden_at is not None,
    }


def record_json(record):
    """A booking's record for the API: links are absolute."""
    links = record_links(record, external_url)
    booking = record.booking
    recording = record.recording
    return {
        "booking": {
            "id": booking.id,
            "status": booking.status,
            "learner_id": booking.learner_id,
            "url": links["booking"],
        }
        if booking is not None
        else None,
        "session": session_summary(record.session),
        "viewer_role": record.viewer_role,
        "ended": record.ended,
        "attendance": [
            {
                "user_id": presence.user.id,
                "name": presence.user.name,
                "role": presence.role,
                "minutes": presence.minutes,
            }
            for presence in record.presence
        ],
        "recording": {
            "status": recording.status,
            "watchable": recording.watchable,
            "duration_ms": recording.duration_ms,
            "ready_at": _time(recording.ready_at),
            "expires_at": _time(recording.expires_at),
            "url": links["recording"],
        },
        "chat": [chat_message_json(message) for message in record.chat],
        "notes_url": links["notes"],
        "whiteboard_pages": [{"page": page, "url": url} for page, url in links["whiteboard"]],
        "gifts": {
            "items": [
                {
                    "id": line.gift.id,
                    "sender_id": line.gift.sender_id,
                    "sender_name": line.gift.sender.name,
                    "amount_paise": line.gift.amount_paise,
                    "message": line.gift.message,
                    "paid_at": _time(line.gift.paid_at),
                    "refunded": line.refunded,
                }
                for line in record.gifts
            ],
            "total_paise": record.gifts_paise,
            "currency": "INR",
        },
        "review": _review_json(record.review) if record.review is not None else None,
        "review_url": links["review"],
    }
