"""With Redis: a webhook delivery goes through the ``default`` queue to an RQ worker, after the
commit, and a duplicate of its job sends nothing more."""

import pytest

from peerlearn.extensions import db
from peerlearn.models import WebhookDelivery
from peerlearn.services import booking as booking_service
from peerlearn.services import webhooks
from tests.support.booking import make_session
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.redis


def test_a_delivery_is_sent_by_a_worker_once(redis_app, make_user):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection
    from peerlearn.tasks.webhooks import deliver

    mentor = make_user(role="mentor")
    with Receiver() as receiver:
        endpoint = webhooks.create_endpoint(mentor, url=receiver.url, event_types=["booking.created"])
        booking_service.book(make_session(mentor).id, make_user())

        queue = get_queue("default")
        [delivery] = db.session.query(WebhookDelivery).filter_by(endpoint_id=endpoint.id).all()
        assert queue.job_ids == [f"webhook-{delivery.id}"]
        assert receiver.requests == []  # nothing is sent until a worker takes the job

        worker = SimpleWorker([queue], connection=redis_connection())
        assert worker.work(burst=True)
        queue.enqueue(deliver, delivery.id)  # a duplicate (a retry of the job, a second worker)
        assert worker.work(burst=True)

    assert len(receiver.requests) == 1
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
