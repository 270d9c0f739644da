"""A learning record (services.learning_record) as JSON, and the links a record carries, built
here once for the pages (relative, ``url_for``) and the API (absolute, ``external_url``).

The recording's playback page and the room documents' downloads belong to other modules; their
routes are found by path (``RECORDING_PAGE``, ``NOTES_FILE``, ``WHITEBOARD_PAGE``), so a record
links to them on an install that serves them and shows no link where it does not.
"""

import re

from flask import current_app

from ..links import external_url
from .room import chat_message_json
from .sessions import session_summary

RECORDING_PAGE = "/sessions/<session_id>/recording"
NOTES_FILE = "/sessions/<session_id>/notes.md"
WHITEBOARD_PAGE = "/sessions/<session_id>/whiteboard/<page>.png"
_CONVERTER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def _endpoint(path):
    """The endpoint serving GET ``path`` (written without converters), or None; looked up once
    per app."""
    found = current_app.extensions.setdefault("learning_record_endpoints", {})
    if path not in found:
        found[path] = next(
            (
                rule.endpoint
                for rule in current_app.url_map.iter_rules()
                if "GET" in rule.methods and _CONVERTER.sub(r"<\1>", rule.rule) == path
            ),
            None,
        )
    return found[path]


def record_links(record, build):
    """The record's links, made by ``build(endpoint, **values)``: ``url_for`` for a page,
    ``external_url`` for the API. A link is None where there is nothing to open."""
    session = record.session
    recording = _endpoint(RECORDING_PAGE) if record.recording.watchable else None
    notes = _endpoint(NOTES_FILE) if record.documents.has_notes else None
    board = _endpoint(WHITEBOARD_PAGE) if record.documents.whiteboard_pages else None
    return {
        "session": build("sessions.detail", session_id=session.id),
        "booking": build("booking.detail", booking_id=record.booking.id)
        if record.booking is not None and record.viewer_role == "learner"
        else None,
        "recording": build(recording, session_id=session.id) if recording else None,
        "notes": build(notes, session_id=session.id) if notes else None,
        "whiteboard": [
            build(board, session_id=session.id, page=page)
            for page in range(1, record.documents.whiteboard_pages + 1)
        ]
        if board
        else [],
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
            "duration_ms": recording.duration_ms,
            "ready_at": _time(recording.ready_at),
            "expires_at": _time(recording.expires_at),
            "url": links["recording"],
        },
        "chat": [chat_message_json(message) for message in record.chat],
        "notes_url": links["notes"],
        "whiteboard_pages": [{"page": n, "url": url} for n, url in enumerate(links["whiteboard"], start=1)],
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
