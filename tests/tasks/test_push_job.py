"""With Redis: a "live now" push goes through the ``default`` queue to an RQ worker after the
commit that started the session, and reaches the push service stand-in from the worker."""

from datetime import timedelta

import pytest

from peerlearn.config import new_vapid_keys
from peerlearn.models import utcnow
from peerlearn.services import booking as booking_service
from peerlearn.services import push
from peerlearn.services import room as room_service
from tests import factories
from tests.fakes.push_service import PushServiceStandIn

pytestmark = pytest.mark.redis


def test_live_now_is_sent_by_a_worker(redis_app, make_user):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    public, private = new_vapid_keys()
    redis_app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    mentor = make_user(role="mentor", name="Asha Raman")
    session = factories.make_session(
        mentor, starts_at=utcnow() + timedelta(minutes=5), title="Practical Flask"
    )
    learner = make_user()
    booking_service.book(session.id, learner)
    with PushServiceStandIn(public) as service:
        browser = service.subscribe()
        push.save_subscription(
            learner,
            endpoint=browser["endpoint"],
            p256dh=browser["keys"]["p256dh"],
            auth=browser["keys"]["auth"],
        )

        room_service.start(mentor, session.id, now=session.starts_at)
        queue = get_queue("default")
        jobs = [job for job in queue.jobs if job.func_name == "peerlearn.tasks.push.send_push"]
        assert [job.args for job in jobs] == [(learner.id, jobs[0].args[1])]
        assert service.received == []  # nothing is sent until a worker takes the job

        assert SimpleWorker([queue], connection=redis_connection()).work(burst=True)

    assert service.refused == []
    assert [message["title"] for message in service.messages_to(browser["endpoint"])] == [
        "Live now: Practical Flask"
    ]
