"""Service calls at once, for the race tests: each from its own thread, database connection and
app context, as concurrent requests would make them (on SQLite, the threaded_app's file; on
PostgreSQL when TEST_DATABASE_URL is set)."""

import threading

from peerlearn.exceptions import Conflict
from peerlearn.extensions import db
from peerlearn.models import User


def at_once(app, attempts, *, timeout=60):
    """Run ``attempts``, ``(user_id, call)`` pairs, in threads released together; returns their
    outcomes in the order they finished.

    Each thread loads its user and hands its connection back before waiting (thirty threads share
    a smaller pool), then calls ``call(user)``: what it returns is its outcome, and a Conflict it
    raises is ``("refused", code)``. ``timeout`` bounds the wait for each thread to finish.
    """
    start = threading.Barrier(len(attempts))
    outcomes, lock = [], threading.Lock()

    def attempt(user_id, call):
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.expunge(user)
            db.session.close()
            start.wait(timeout=60)
            try:
                result = call(user)
            except Conflict as exc:
                result = ("refused", exc.code)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes
