"""Time-driven work: holds expire, finished sessions complete, payments reconcile, reminders and
queued email go out, recommendations are rebuilt. Nothing needs a person to tick it.

With Redis, `python worker.py cron` enqueues these on their intervals for the RQ workers. In the
embedded mode (no Redis) the web process runs the very same functions in a background task.
"""

import logging

from ..extensions import db
from ..services import (
    booking,
    coupons,
    media,
    move_orders,
    packs,
    payments,
    recording_library,
    recordings,
    reminders,
    session_requests,
    sessions,
)
from .email import dispatch_queued
from .recommendations import rebuild_if_stale
from .webhooks import retry_due_webhooks
from .your_data import remove_expired_exports

log = logging.getLogger(__name__)


def expire_holds():
    return booking.expire_holds() + move_orders.lapse_expired_holds()


def complete_sessions():
    return sessions.complete_due_sessions()


def close_media_rooms():
    return media.close_finished_rooms()


def reconcile_payments():
    return payments.reconcile_open_payments()


def expire_packs():
    return packs.expire_purchases()


def release_coupon_holds():
    return coupons.release_all_lapsed_holds()


def send_queued_emails():
    return dispatch_queued()


def send_reminders():
    return reminders.send_due_reminders()


def expire_requests():
    return session_requests.expire_requests()


def delete_expired_recordings():
    return recording_library.delete_expired()


def queue_stalled_recordings():
    return recordings.queue_stalled()


# (function, queue, interval in seconds)
PERIODIC_JOBS = (
    (expire_holds, "default", 60),
    (complete_sessions, "default", 60),
    (close_media_rooms, "default", 300),
    (reconcile_payments, "default", 300),
    (send_queued_emails, "emails", 300),
    (send_reminders, "emails", 60),
    (rebuild_if_stale, "recommendations", 300),
    (expire_requests, "default", 300),
    (delete_expired_recordings, "default", 3600),
    (queue_stalled_recordings, "default", 600),
    (retry_due_webhooks, "default", 60),
    (remove_expired_exports, "default", 3600),
    (expire_packs, "default", 600),
    (release_coupon_holds, "default", 120),
)


def run_all_once():
    """Run every periodic job now, each isolated from the others' failures."""
    results = {}
    for func, _queue, _interval in PERIODIC_JOBS:
        try:
            results[func.__name__] = func()
        except Exception:
            db.session.rollback()
            log.exception("periodic job %s failed", func.__name__)
            results[func.__name__] = None
        finally:
            db.session.remove()
    return results


def start_embedded(app):
    """Run the periodic jobs in this process every SWEEP_INTERVAL_SECONDS (embedded mode)."""
    from ..extensions import socketio

    interval = max(5, app.config["SWEEP_INTERVAL_SECONDS"])

    def loop():
        while True:
            with app.app_context():
                run_all_once()
            socketio.sleep(interval)

    log.info("periodic jobs run in-process every %s s", interval)
    return socketio.start_background_task(loop)


def register_cron(scheduler):
    """Register every periodic job with an RQ CronScheduler."""
    for func, queue, interval in PERIODIC_JOBS:
        scheduler.register(func, queue, interval=interval, name=func.__name__)
    return scheduler
