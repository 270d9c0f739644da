"""Who reacts to what, wired once as the app is created.

Services record what happened (``peerlearn.events``) and stage what a commit must hand on
(``services.outbox``); they import none of the modules that react. This module connects them:

- every event the notifications package tells of, to its words (``services.notifications.events``);
- a committed notification, to its owner's open pages; a committed email, to the ``emails`` queue;
- a session published, to its mentor's followers (``services.follows``); a session cancelled,
  to the request it was made for, which is declined (``services.session_requests``);
- a learner's new booking, follow or review, to a refresh of their recommendations;
- a reserved refund, to the job that asks the gateway for it (also one staged in the outbox);
- a recording queued for composing, to the ``recordings`` job;
- a data export asked for, to the job that builds it (``tasks.your_data``);
- the events integrators may hear of, to deliveries for their webhooks (``services.webhooks``),
  and a committed delivery to the ``deliver`` job.
- a seat freed (a booking cancelled, a hold expired, seats added), to the session's waitlist,
  which offers it to the first in line; a booking confirmed or a session cancelled, to its entries.
- a 15-minute reminder or a session started, to a push to the learners' phones
  (``services.push``), handed to the ``send_push`` job after the commit.
- a session held, to the pack credits booked for it, which are earned; a session cancelled or not
  held, or a booking cancelled, to the credits it took, which go back (``services.packs``).
- a moved booking cancelled, to the payments of the differences paid to move it, which are refunded
  by the same policy (``services.move_orders``).

The cached fragments of the public pages (``services.fragments``) are set up here too; they need
no event: they notice every committed change to what they show in the database session itself.
"""

import threading

from flask import current_app, has_request_context

from . import events
from .models import Notification, OutboundEmail, Refund, WebhookDelivery
from .services import (
    follows,
    fragments,
    move_orders,
    notifications,
    outbox,
    packs,
    push,
    session_requests,
    waitlist,
    webhooks,
)
from .services.notifications import events as notification_events
from .tasks import email as email_jobs
from .tasks import enqueue, run_inline
from .tasks import payments as payment_jobs
from .tasks import push as push_jobs
from .tasks import recommendations as recommendation_jobs
from .tasks import recordings as recording_jobs
from .tasks import webhooks as webhook_jobs
from .tasks import your_data as your_data_jobs


def init_app(app):
    notification_events.subscribe()
    outbox.carry(Notification, notifications.announce)
    outbox.carry(OutboundEmail, queue_email)
    outbox.carry(WebhookDelivery, queue_webhook_delivery)
    outbox.carry(Refund, send_staged_refund)
    outbox.carry(push.PushMessage, queue_push)
    for event, handler in webhooks.EVENT_HANDLERS.items():
        events.subscribe(event, "webhooks", handler)
    events.subscribe("session_published", "follows", tell_followers)
    events.subscribe("session_cancelled", "session_requests", decline_request_of_cancelled_session)
    events.subscribe("learner_interests_changed", "recommendations", refresh_learner)
    events.subscribe("refund_reserved", "payments", send_refund)
    events.subscribe("recording_composition_queued", "recordings", compose_recording)
    events.subscribe("data_export_requested", "your_data", build_data_export)
    events.subscribe("seat_freed", "waitlist", waitlist.seat_freed)
    events.subscribe("booking_confirmed", "waitlist", waitlist.booking_confirmed)
    events.subscribe("session_cancelled", "waitlist", waitlist.session_cancelled)
    events.subscribe("session_completed", "packs", packs.session_held)
    events.subscribe("session_cancelled", "packs", packs.session_not_taking_place)
    events.subscribe("session_not_held", "packs", packs.session_not_taking_place)
    events.subscribe("booking_cancelled", "packs", packs.booking_cancelled)
    events.subscribe("booking_cancelled", "move_orders", move_orders.booking_cancelled)
    events.subscribe("session_reminder", "push", push.session_reminder)
    events.subscribe("session_started", "push", push.session_started)
    fragments.init_app(app)


def queue_email(email):
    enqueue("emails", email_jobs.send_email, email.id, job_id=f"email-{email.id}")


def queue_webhook_delivery(delivery):
    enqueue(
        "default", webhook_jobs.deliver, delivery.id, job_id=f"webhook-{delivery.id}", after_response=True
    )


def queue_push(message):
    enqueue("default", push_jobs.send_push, message.user_id, message.payload, after_response=True)


def tell_followers(session, mentor):
    follows.tell_followers(session, mentor)


def decline_request_of_cancelled_session(session, bookings, **_):
    session_requests.session_cancelled(session)


def refresh_learner(user_id):
    recommendation_jobs.refresh_learner_soon(user_id)


def send_refund(refund_id):
    enqueue("default", payment_jobs.send_refund, refund_id, job_id=f"refund-{refund_id}")


def send_staged_refund(refund):
    """A refund a subscriber reserved inside someone else's transaction (services.packs)."""
    send_refund(refund.id)


def compose_recording(recording_id):
    app = current_app._get_current_object()
    if app.config["JOBS_INLINE"] and app.config["JOBS_AFTER_RESPONSE"] and has_request_context():
        # The embedded mode, in a request or a socket event (which has no response to wait for):
        # minutes of ffmpeg run beside it on a thread of their own, not inside it.
        threading.Thread(target=_compose_inline, args=(app, recording_id), daemon=True).start()
        return
    enqueue("recordings", recording_jobs.compose_recording, recording_id)


def build_data_export(export_id):
    enqueue(
        "default",
        your_data_jobs.build_export,
        export_id,
        job_id=f"data-export-{export_id}",
        after_response=True,
    )


def _compose_inline(app, recording_id):
    with app.app_context():
        run_inline(recording_jobs.compose_recording, (recording_id,))
