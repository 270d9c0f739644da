"""The shared notes and whiteboard across two real server processes (`gunicorn -k gevent`, as
production runs them) on one PostgreSQL database and one Redis message queue: the mentor's socket
on process A and a learner's on process B edit at the same time; each hears the other's changes
through the queue, and both processes then answer a fresh sync with the same document, which
holds every edit."""

import os
import secrets
import shutil
import threading
import uuid
from datetime import timedelta

import pytest

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import utcnow
from peerlearn.services import booking as booking_service
from tests.conftest import free_port, unavailable
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_session
from tests.processes import process_env
from tests.support.production import Browser, Web, own_folders, run_flask, scratch_database
from tests.support.redis_server import RedisServer
from tests.support.room_documents import Editor

pytestmark = pytest.mark.redis

SHAPES_EACH = 12
TIMEOUT = 60  # seconds; generous, nothing here measures speed


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to run two server processes on PostgreSQL")
    if not shutil.which("redis-server"):
        unavailable("redis-server is not installed")
    home = tmp_path_factory.mktemp("documents")
    redis = RedisServer()
    database_url, drop_database = scratch_database(base)
    webs, app = [], None
    try:
        redis.start()
        ports = [free_port(), free_port()]
        env = process_env(
            FLASK_APP="peerlearn:create_app",
            FLASK_SKIP_DOTENV="1",
            PEERLEARN_ENV="development",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=database_url,
            REDIS_URL=redis.url,
            SOCKETIO_MESSAGE_QUEUE=redis.url,
            SOCKETIO_CHANNEL=f"peerlearn-documents-{uuid.uuid4().hex}",
            SOCKETIO_CORS_ORIGINS=",".join(f"http://127.0.0.1:{port}" for port in ports),
            JOBS_INLINE="true",
            MAIL_BACKEND="log",
            ROOM_MEDIA="mesh",
            ARGON2_TIME_COST="1",
            ARGON2_MEMORY_COST="1024",
            PYTHONUNBUFFERED="1",
        )
        run_flask(own_folders(env, home / "cli"), "db", "upgrade")
        app = create_app(
            "testing", {"SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": {}}
        )
        with app.app_context():
            mentor, learner = UserFactory(role="mentor"), UserFactory()
            session = make_session(mentor, starts_at=utcnow() + timedelta(minutes=5))
            booking_service.book(session.id, learner)
            people = {"mentor": mentor.email, "learner": learner.email, "session_id": session.id}
            db.session.remove()
        for name, port in zip(("web-a", "web-b"), ports, strict=True):
            webs.append(Web(name, port, own_folders(env, home / name), home))
        for web in webs:
            web.wait_until_healthy()
        yield webs, people
    finally:
        for web in webs:
            web.stop()
        redis.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        drop_database()


def call(sio, event, payload):
    return sio.call(event, payload, timeout=TIMEOUT)


def shapes_of(diff):
    """The shapes a new browser's copy holds after taking ``diff`` (what it lacked)."""
    copy = Editor()
    copy.receive(diff)
    return sorted(shape["id"] for shape in copy.shapes())


def test_two_processes_relay_and_agree(deployment):
    (web_a, web_b), people = deployment
    session_id = people["session_id"]
    mentor = Browser(web_a.url, people["mentor"], DEFAULT_PASSWORD)
    learner = Browser(web_b.url, people["learner"], DEFAULT_PASSWORD)
    try:
        on_a, a_inbox, _ = mentor.socket(web_a.url)
        on_b, b_inbox, _ = learner.socket(web_b.url)
        for sio in (on_a, on_b):
            assert call(sio, "room:join", {"session_id": session_id})["ok"]
        assert call(on_a, "doc:access", {"session_id": session_id, "learners_may_edit": True})["ok"]
        b_inbox.wait_for("doc:access", lambda payload: payload["learners_may_edit"] is True)

        editors = {"a": Editor(), "b": Editor()}
        for name, sio in (("a", on_a), ("b", on_b)):
            answer = call(
                sio, "doc:sync", {"session_id": session_id, "state_vector": editors[name].doc.get_state()}
            )
            assert answer["ok"] and answer["can_edit"] is True
            editors[name].receive(answer["update"])

        errors = []

        def edit(name, sio):
            try:
                for k in range(SHAPES_EACH):
                    update = editors[name].add_shape({"id": f"{name}-{k}", "kind": "pen", "points": [k, k]})
                    reply = call(sio, "doc:update", {"session_id": session_id, "update": update})
                    if not reply["ok"]:
                        errors.append(reply)
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=edit, args=item) for item in (("a", on_a), ("b", on_b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

        # Each side heard every one of the other's updates through the queue, none of its own.
        expected = sorted(f"{name}-{k}" for name in "ab" for k in range(SHAPES_EACH))
        for own, inbox, other in (("a", a_inbox, "b"), ("b", b_inbox, "a")):
            inbox.wait_for("doc:update", lambda _p, inbox=inbox: len(relayed_ids(inbox)) >= SHAPES_EACH)
            assert all(shape_id.startswith(other) for shape_id in relayed_ids(inbox))
            for payload in inbox.payloads("doc:update"):
                editors[own].receive(payload["update"])
        assert [sorted(s["id"] for s in editor.shapes()) for editor in editors.values()] == [
            expected,
            expected,
        ]

        # Both processes read the same stored document.
        fresh = Editor().doc.get_state()
        answers = [
            call(sio, "doc:sync", {"session_id": session_id, "state_vector": fresh}) for sio in (on_a, on_b)
        ]
        assert shapes_of(answers[0]["update"]) == shapes_of(answers[1]["update"]) == expected
    finally:
        mentor.close()
        learner.close()


def relayed_ids(inbox):
    """The shapes in everything relayed to this socket so far, applied in order to a new copy."""
    copy = Editor()
    for payload in inbox.payloads("doc:update"):
        copy.receive(payload["update"])
    return [shape["id"] for shape in copy.shapes()]
