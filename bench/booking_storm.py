"""Booking storm: many learners at once for a few seats, on PostgreSQL.

    .venv/bin/python bench/booking_storm.py [--attempts 200] [--seats 10] [--threads 50]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Creates a scratch database next to the one given (and drops it after), one paid session with
``--seats`` seats and ``--attempts`` verified learners, then lets every learner call the real
booking service at the same moment from a pool of threads, each with its own connection.
Prints how many were confirmed (must equal the seats), how many were refused and why, and the
attempts per second.
"""

import argparse
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from peerlearn import create_app
from peerlearn.config import normalise_database_url
from peerlearn.exceptions import Conflict
from peerlearn.extensions import db
from peerlearn.models import Booking, LearningSession, User, utcnow
from peerlearn.services import booking as booking_service


def scratch_database(base_url):
    name = f"peerlearn_storm_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_database_url(base_url)).set(database=name)
    return admin, name, url.render_as_string(hide_password=False)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--seats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=50)
    args = parser.parse_args()

    admin, name, url = scratch_database(args.database_url)
    try:
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.threads, "max_overflow": 0},
            },
        )
        with app.app_context():
            db.create_all()
            mentor = User(
                email="mentor@storm.test",
                name="Storm Mentor",
                teaching_enabled_at=utcnow(),
                password_hash="x",  # noqa: S106 - a test's own credential, not a secret
                email_verified_at=utcnow(),
            )
            db.session.add(mentor)
            db.session.flush()
            session = LearningSession(
                mentor_id=mentor.id,
                title="Storm",
                category="Programming",
                starts_at=utcnow() + timedelta(days=2),
                capacity=args.seats,
                price_paise=50000,
                status="scheduled",
            )
            db.session.add(session)
            learners = [
                User(
                    email=f"l{i}@storm.test",
                    name=f"Learner {i}",
                    password_hash="x",  # noqa: S106 - a test's own credential, not a secret
                    email_verified_at=utcnow(),
                )
                for i in range(args.attempts)
            ]
            db.session.add_all(learners)
            db.session.commit()
            session_id, learner_ids = session.id, [learner.id for learner in learners]
            db.session.remove()

        gate = threading.Event()
        outcomes = Counter()
        lock = threading.Lock()

        def attempt(learner_id):
            with app.app_context():
                learner = db.session.get(User, learner_id)
                db.session.expunge(learner)
                db.session.close()
                gate.wait()
                try:
                    booking, _ = booking_service.book(session_id, learner)
                    result = booking.status
                except Conflict as exc:
                    result = f"refused: {exc.code}"
                finally:
                    db.session.remove()
            with lock:
                outcomes[result] += 1

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            futures = [pool.submit(attempt, learner_id) for learner_id in learner_ids]
            time.sleep(0.5)
            started = time.perf_counter()
            gate.set()
            for future in futures:
                future.result()
            elapsed = time.perf_counter() - started

        with app.app_context():
            held = db.session.scalar(select(func.count(Booking.id)))
            taken = db.session.get(LearningSession, session_id).seats_taken
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    print(
        f"Booking storm on PostgreSQL: {args.attempts} concurrent attempts at {args.seats} seats, "
        f"{args.threads} threads"
    )
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome:28} {count}")
    print(f"  bookings in the database     {held} (seats_taken {taken})")
    print(f"  attempts/s                   {args.attempts / elapsed:.0f}  ({elapsed * 1000:.0f} ms in all)")
    ok = held == args.seats == taken == outcomes.get("pending_payment", 0)
    print("  result                       " + ("exactly the seats were booked" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
