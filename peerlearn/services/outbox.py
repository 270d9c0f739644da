"""The transactional outbox: what a change has to tell people is written in the change's own
transaction, and handed on only once that transaction has committed.

``stage()`` remembers a just-added ``OutboundEmail`` or ``Notification`` on the current database
session. When that session commits, the staged records move to its "committed" list; when it rolls
back they are forgotten with the rest of the change. ``dispatch()`` then hands the committed ones
on through the carrier registered for their class at start-up (``carry``, in
``peerlearn.subscriptions``): emails to the ``emails`` queue (or sent now, in the embedded mode),
notifications to their owner's Socket.IO room ``user:<id>``; an email held until later
(``send_after``, so that undoing what it tells of can still drop it) stays queued for the
periodic dispatcher. Callers call
``dispatch()`` right after their commit; every web request also dispatches at its end, as a
safety net. Whatever cannot be handed on (Redis down, a crash between the commit and the
hand-over) is still in the database: the periodic dispatcher sends queued email, and
notifications are read from the database by every page and API call.

No SQL runs inside the session's commit hooks: ``dispatch()`` is an ordinary call.
"""

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import OutboundEmail, utcnow

log = logging.getLogger(__name__)

STAGED = "peerlearn_outbox_staged"
COMMITTED = "peerlearn_outbox_committed"

# record class -> what hands one committed record of that class on
_carriers = {}


def carry(record_class, carrier):
    """Hand each committed ``record_class`` record to ``carrier(record)``. Registering again
    replaces the carrier."""
    _carriers[record_class] = carrier


def stage(record):
    """Hand ``record`` on after the current transaction commits (and never if it rolls back)."""
    db.session.info.setdefault(STAGED, []).append(record)
    return record


@event.listens_for(Session, "after_commit")
def _committed(session):
    staged = session.info.pop(STAGED, None)
    if staged:
        session.info.setdefault(COMMITTED, []).extend(staged)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session, previous_transaction):
    if previous_transaction.parent is None:  # the outermost transaction: the change is gone
        session.info.pop(STAGED, None)


def pending():
    """Records committed but not handed on yet (for tests and diagnostics)."""
    return list(db.session.info.get(COMMITTED, ()))


def dispatch():
    """Hand on everything committed so far. Safe to call at any time, and more than once."""
    records = db.session.info.pop(COMMITTED, None)
    if not records:
        return 0

    now = utcnow()
    due = [
        record
        for record in records
        if not isinstance(record, OutboundEmail) or record.send_after is None or record.send_after <= now
    ]
    # Notices first, then emails, each in the order they were written.
    for record in sorted(due, key=lambda record: isinstance(record, OutboundEmail)):
        carrier = _carriers.get(type(record))
        if carrier is None:
            log.warning("nothing carries %s records: left in the database", type(record).__name__)
            continue
        carrier(record)
    return len(records)


def init_app(app):
    @app.after_request
    def dispatch_after_request(response):
        try:
            dispatch()
        except Exception:  # a delivery problem never turns a done request into an error
            log.exception("could not dispatch the outbox after %s", response.status)
        return response
