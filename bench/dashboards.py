"""Mentor dashboard speed: /teach and GET /api/mentor-dashboard/ for a mentor with 500 sessions and
5,000 bookings.

    .venv/bin/python bench/dashboards.py                       # a temporary SQLite file
    .venv/bin/python bench/dashboards.py --database-url postgresql://postgres@127.0.0.1:5432/test

With a PostgreSQL URL the data goes into a scratch database created beside the one named (and
dropped afterwards), so the named database is never touched. The mentor's history spans ten months
back and two ahead: paid and free sessions, bookings attended, missed, confirmed and cancelled,
captured payments with the ledger's split, processed refunds with their reversals, room
attendance, session page views, reviews (some hidden), followers and session requests. Other
mentors' sessions, bookings and views sit beside it, as on a live platform, so every query has to
pick the mentor's rows out. All of it is inserted in bulk with SQLAlchemy Core.

The mentor signs in through the login form; then each page is requested through the Flask test
client in this process, after a warm-up. With ``--money-pages`` the earnings page, GET
/api/earnings/ and last month's statement (page and CSV) are measured too. Prints p50/p95/max
server time in milliseconds over ``--requests`` requests of each, and the SQL statements per
request (the same for every request: the pages aggregate in the database, whatever the number of
sessions). The target is p95 <= 100 ms.
"""

import argparse
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select, text

from bench.roomkit import analyze_if_postgres, scratch_database, testing_app
from peerlearn.extensions import db
from peerlearn.ml.text import skill_slug
from peerlearn.models import (
    Attendance,
    Booking,
    Follow,
    Interaction,
    LearningSession,
    LedgerEntry,
    Payment,
    Refund,
    Review,
    SessionRequest,
    Skill,
    User,
    session_skills,
)
from peerlearn.services.passwords import hash_password

TARGET_P95_MS = 100
PASSWORD = "correct-horse-battery"  # noqa: S105 - the bench mentor's, in a scratch database
MENTOR_EMAIL = "mentor@bench.local"
FEE_PERCENT = 12
SKILLS = ["Python", "Pandas", "SQL", "Statistics", "Machine learning", "Data visualisation", "Excel", "Git"]
PRICES = [0, 0, 19900, 29900, 49900, 79900, 99900]


def fee_of(amount):
    return (amount * FEE_PERCENT * 2 + 100) // 200


class Rows:
    """Bulk inserts in batches, with ids read back where later rows need them."""

    def __init__(self, batch=2000):
        self.batch = batch

    def add(self, model, rows):
        for start in range(0, len(rows), self.batch):
            db.session.execute(insert(model), rows[start : start + self.batch])


def build(rng, now, *, sessions, bookings, learners, other_mentors, other_sessions, other_bookings):
    """The mentor's market and the platform around it; returns what was made, for the report."""
    rows = Rows()
    password_hash = hash_password(PASSWORD)
    db.session.execute(insert(Skill), [{"name": name, "slug": skill_slug(name)} for name in SKILLS])
    skill_ids = list(db.session.scalars(select(Skill.id).order_by(Skill.id)))

    users = [
        {
            "email": MENTOR_EMAIL,
            "name": "Asha Raman",
            "password_hash": password_hash,
            "teaching_enabled_at": now - timedelta(days=400),
            "timezone": "Asia/Kolkata",
            "headline": "Data scientist",
            "email_verified_at": now - timedelta(days=400),
            "created_at": now - timedelta(days=400),
        }
    ]
    users += [
        {
            "email": f"mentor{n}@bench.local",
            "name": f"Other Mentor{n}",
            "password_hash": "bench-not-a-real-hash",
            "teaching_enabled_at": now - timedelta(days=300),
            "timezone": "Asia/Kolkata",
            "email_verified_at": now - timedelta(days=300),
            "created_at": now - timedelta(days=rng.randint(1, 400)),
        }
        for n in range(other_mentors)
    ]
    users += [
        {
            "email": f"learner{n}@bench.local",
            "name": f"Learner Number{n}",
            "password_hash": "bench-not-a-real-hash",
            "teaching_enabled_at": None,
            "timezone": "Asia/Kolkata",
            "email_verified_at": now - timedelta(days=200),
            "created_at": now - timedelta(days=rng.randint(0, 400)),
        }
        for n in range(learners)
    ]
    rows.add(User, users)
    ids = dict(db.session.execute(select(User.email, User.id)).all())
    mentor_id = ids[MENTOR_EMAIL]
    other_ids = [ids[f"mentor{n}@bench.local"] for n in range(other_mentors)]
    learner_ids = [ids[f"learner{n}@bench.local"] for n in range(learners)]

    def session_rows(owner_ids, count):
        made = []
        for index in range(count):
            # Ten months back to two ahead; a few today, one of them about to start.
            if index < 3:
                starts_at = now + timedelta(minutes=(5, 180, 400)[index])
            else:
                starts_at = now + timedelta(days=rng.uniform(-300, 60))
            roll = rng.random()
            if starts_at < now:
                status = "cancelled" if roll < 0.03 else "completed"
            else:
                status = "draft" if roll < 0.05 else "cancelled" if roll < 0.08 else "scheduled"
            duration = rng.choice([45, 60, 60, 90])
            ends_at = starts_at + timedelta(minutes=duration)
            held = status == "completed"
            made.append(
                {
                    "mentor_id": rng.choice(owner_ids),
                    "title": f"Session {index}: {rng.choice(SKILLS)} in practice",
                    "description": "Hands-on practice with questions answered live.",
                    "category": "Data & AI",
                    "starts_at": starts_at,
                    "duration_minutes": duration,
                    # Held sessions settle SETTLEMENT_HOURS (48) after their end: the last two
                    # days' money is still pending, the rest available.
                    "ended_at": ends_at if held else None,
                    "mentor_present_minutes": duration if held else None,
                    "settles_at": ends_at + timedelta(hours=48) if held else None,
                    "capacity": 20,
                    "seats_taken": 0,
                    "price_paise": rng.choice(PRICES),
                    "status": status,
                    "published_at": None if status == "draft" else starts_at - timedelta(days=30),
                }
            )
        return made

    rows.add(LearningSession, session_rows([mentor_id], sessions) + session_rows(other_ids, other_sessions))
    all_sessions = db.session.execute(
        select(
            LearningSession.id,
            LearningSession.mentor_id,
            LearningSession.starts_at,
            LearningSession.duration_minutes,
            LearningSession.price_paise,
            LearningSession.status,
        ).order_by(LearningSession.id)
    ).all()
    rows.add(
        session_skills,
        [
            {"session_id": s.id, "skill_id": skill_id}
            for s in all_sessions
            for skill_id in rng.sample(skill_ids, rng.randint(1, 3))
        ],
    )

    # Bookings: up to the capacity per session, each learner at most once per session.
    def booking_rows(pool, count):
        bookable = [s for s in pool if s.status != "draft"]
        made, seats = [], {}
        while len(made) < count:
            s = rng.choice(bookable)
            taken = seats.setdefault(s.id, set())
            if len(taken) >= 20:
                continue
            learner = rng.choice(learner_ids)
            if learner in taken:
                continue
            taken.add(learner)
            booked_at = min(now, s.starts_at - timedelta(days=rng.uniform(0.5, 20)))
            roll = rng.random()
            if s.status == "cancelled":
                status = "cancelled"
            elif s.status == "completed":
                status = "attended" if roll < 0.85 else "no_show" if roll < 0.97 else "cancelled"
            else:
                status = "cancelled" if roll < 0.05 else "confirmed"
            made.append(
                {
                    "session_id": s.id,
                    "learner_id": learner,
                    "status": status,
                    "amount_paise": s.price_paise,
                    "confirmed_at": booked_at,
                    "cancelled_at": booked_at + timedelta(hours=6) if status == "cancelled" else None,
                    "created_at": booked_at,
                    "updated_at": booked_at,
                }
            )
        return made

    mine = [s for s in all_sessions if s.mentor_id == mentor_id]
    others = [s for s in all_sessions if s.mentor_id != mentor_id]
    booking_list = booking_rows(mine, bookings) + booking_rows(others, other_bookings)
    rows.add(Booking, booking_list)
    db.session.execute(
        text(
            "UPDATE learning_sessions SET seats_taken = (SELECT count(*) FROM bookings "
            "WHERE bookings.session_id = learning_sessions.id AND bookings.status = 'confirmed')"
        )
    )
    by_id = {s.id: s for s in all_sessions}
    booked = db.session.execute(
        select(Booking.id, Booking.session_id, Booking.learner_id, Booking.status, Booking.created_at)
    ).all()

    # Payments for paid seats, the ledger's split, and full refunds of cancelled ones.
    payments = [
        {
            "purpose": "booking",
            "booking_id": b.id,
            "payer_id": b.learner_id,
            "mentor_id": by_id[b.session_id].mentor_id,
            "gateway": "dev",
            "order_id": f"order_bench_{b.id}",
            "gateway_payment_id": f"pay_bench_{b.id}",
            "receipt": f"bk_{b.id}",
            "amount_paise": by_id[b.session_id].price_paise,
            "status": "refunded" if b.status == "cancelled" else "captured",
            "refunded_paise": by_id[b.session_id].price_paise if b.status == "cancelled" else 0,
            "method": "upi",
            "captured_at": b.created_at,
            "created_at": b.created_at,
            "updated_at": b.created_at,
        }
        for b in booked
        if by_id[b.session_id].price_paise
    ]
    rows.add(Payment, payments)
    paid = db.session.execute(
        select(Payment.id, Payment.booking_id, Payment.mentor_id, Payment.amount_paise, Payment.captured_at)
    ).all()
    status_of = {b.id: b.status for b in booked}
    refunds = [
        {
            "payment_id": p.id,
            "amount_paise": p.amount_paise,
            "status": "processed",
            "idempotency_key": f"booking-{p.booking_id}-cancel",
            "processed_at": p.captured_at + timedelta(hours=6),
            "created_at": p.captured_at + timedelta(hours=6),
            "updated_at": p.captured_at + timedelta(hours=6),
        }
        for p in paid
        if status_of[p.booking_id] == "cancelled"
    ]
    rows.add(Refund, refunds)
    refund_of = dict(db.session.execute(select(Refund.payment_id, Refund.id)).all())
    session_of = {b.id: b.session_id for b in booked}
    entries = []
    for p in paid:
        fee = fee_of(p.amount_paise)
        common = {"payment_id": p.id, "mentor_id": p.mentor_id, "session_id": session_of[p.booking_id]}
        for kind, amount in (
            ("payment", p.amount_paise),
            ("platform_fee", fee),
            ("mentor_earning", p.amount_paise - fee),
        ):
            entries.append({**common, "kind": kind, "amount_paise": amount, "created_at": p.captured_at})
        if p.id in refund_of:
            when = p.captured_at + timedelta(hours=6)
            for kind, amount in (
                ("refund", p.amount_paise),
                ("fee_reversal", fee),
                ("earning_reversal", p.amount_paise - fee),
            ):
                entries.append(
                    {
                        **common,
                        "kind": kind,
                        "amount_paise": -amount,
                        "refund_id": refund_of[p.id],
                        "created_at": when,
                    }
                )
    rows.add(LedgerEntry, entries)

    # The rooms: the mentor and every attending learner, from the start for most of the slot.
    stays = []
    for s in all_sessions:
        if s.status == "completed":
            stays.append(
                {
                    "session_id": s.id,
                    "user_id": s.mentor_id,
                    "joined_at": s.starts_at - timedelta(minutes=5),
                    "left_at": s.starts_at + timedelta(minutes=s.duration_minutes),
                }
            )
    for b in booked:
        if b.status == "attended":
            s = by_id[b.session_id]
            stays.append(
                {
                    "session_id": s.id,
                    "user_id": b.learner_id,
                    "joined_at": s.starts_at + timedelta(minutes=rng.randint(-5, 10)),
                    "left_at": s.starts_at + timedelta(minutes=rng.randint(20, s.duration_minutes)),
                }
            )
    rows.add(Attendance, stays)

    # Page views (about four per booking), and other signals that must not count as views.
    published = [s for s in all_sessions if s.status != "draft"]
    views = []
    for _ in range(4 * len(booked)):
        s = rng.choice(published)
        views.append(
            {
                "user_id": rng.choice(learner_ids),
                "kind": "view",
                "session_id": s.id,
                "mentor_id": s.mentor_id,
                "created_at": min(now, s.starts_at) - timedelta(days=rng.uniform(0, 30)),
            }
        )
    views += [
        {"user_id": b.learner_id, "kind": "book", "session_id": b.session_id, "created_at": b.created_at}
        for b in booked
    ]
    rows.add(Interaction, views)

    # Reviews of two in five attended seats, one in fifty of them hidden by an admin.
    reviews = []
    for b in booked:
        if b.status == "attended" and rng.random() < 0.4:
            s = by_id[b.session_id]
            when = s.starts_at + timedelta(hours=rng.uniform(2, 72))
            reviews.append(
                {
                    "booking_id": b.id,
                    "session_id": s.id,
                    "mentor_id": s.mentor_id,
                    "learner_id": b.learner_id,
                    "rating": rng.choices([5, 4, 3, 2, 1], [55, 28, 10, 4, 3])[0],
                    "body": "Clear and practical.",
                    "created_at": when,
                    "hidden_at": when if rng.random() < 0.02 else None,
                }
            )
    rows.add(Review, reviews)
    followers = rng.sample(learner_ids, min(300, len(learner_ids)))
    rows.add(Follow, [{"follower_id": learner, "mentor_id": mentor_id} for learner in followers])
    rows.add(
        SessionRequest,
        [
            {
                "learner_id": rng.choice(learner_ids),
                "mentor_id": mentor_id,
                "topic": "Help with pandas",
                "status": rng.choice(["pending", "pending", "declined", "accepted"]),
                "expires_at": now + timedelta(days=rng.uniform(-10, 10)),
                "created_at": now - timedelta(days=rng.uniform(0, 20)),
            }
            for _ in range(60)
        ],
    )
    db.session.commit()
    mine_ids = {s.id for s in mine}
    mentor_payments = {p.id for p in paid if p.mentor_id == mentor_id}
    return {
        "the mentor's": {
            "sessions": len(mine),
            "bookings": sum(1 for b in booked if b.session_id in mine_ids),
            "payments": len(mentor_payments),
            "ledger entries": sum(1 for e in entries if e["mentor_id"] == mentor_id),
            "refunds": sum(1 for r in refunds if r["payment_id"] in mentor_payments),
            "room stays": sum(1 for a in stays if a["session_id"] in mine_ids),
            "page views": sum(1 for v in views if v["kind"] == "view" and v["session_id"] in mine_ids),
            "reviews": sum(1 for r in reviews if r["session_id"] in mine_ids),
            "followers": len(followers),
        },
        "the platform's": {
            "sessions": len(all_sessions),
            "bookings": len(booked),
            "ledger entries": len(entries),
            "page views": 4 * len(booked),
        },
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def sign_in(client):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post(
        "/auth/login", data={"email": MENTOR_EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302 or not response.headers["Location"].endswith("/teach"):
        raise RuntimeError(f"sign-in failed: {response.status_code}")


def measure(app, path, requests, warmup):
    """Server time of ``requests`` GETs of ``path`` by the signed-in mentor, and the statements
    each one ran."""
    client = app.test_client()
    sign_in(client)
    for _ in range(warmup):
        if (status := client.get(path).status_code) != 200:
            raise SystemExit(f"{path} answered {status}")
    counts = []
    statements = [0]

    def count(*_args):
        statements[0] += 1

    timings = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(requests):
            statements[0] = 0
            before = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - before) * 1000)
            counts.append(statements[0])
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return timings, counts, response


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to use (default: a temporary SQLite file)")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--bookings", type=int, default=5000)
    parser.add_argument("--learners", type=int, default=1500)
    parser.add_argument("--other-mentors", type=int, default=40)
    parser.add_argument("--other-sessions", type=int, default=2000)
    parser.add_argument("--other-bookings", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--money-pages",
        action="store_true",
        help="also the earnings page, GET /api/earnings/ and last month's statement (HTML and CSV)",
    )
    args = parser.parse_args(argv)

    postgres = bool(args.database_url and args.database_url.startswith(("postgres://", "postgresql")))
    with scratch_database(args.database_url if postgres else None) as url:
        app = testing_app(url, PLATFORM_FEE_PERCENT=FEE_PERCENT)
        now = datetime.now(UTC)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            made = build(
                random.Random(args.seed),  # noqa: S311 - random for load shape, not a secret
                now,
                sessions=args.sessions,
                bookings=args.bookings,
                learners=args.learners,
                other_mentors=args.other_mentors,
                other_sessions=args.other_sessions,
                other_bookings=args.other_bookings,
            )
            built = time.perf_counter() - started
            analyze_if_postgres()
            db.session.remove()
        label = "PostgreSQL" if postgres else "SQLite (file, WAL)"
        print(f"{label}, built in {built:.1f} s:")
        for whose, counts in made.items():
            print(f"  {whose}: " + ", ".join(f"{value:,} {name}" for name, value in counts.items()))

        worst = 0.0
        print(f"{'request':<28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'statements':>11}")
        paths = ["/teach", "/api/mentor-dashboard/"]
        if args.money_pages:
            last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            statement = f"/teach/earnings/statement/{last_month}"
            paths += ["/teach/earnings", "/api/earnings/", statement, f"{statement}.csv"]
        for path in paths:
            timings, counts, _response = measure(app, path, args.requests, args.warmup)
            p95 = percentile(timings, 0.95)
            worst = max(worst, p95)
            spread = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
            p50, slowest = statistics.median(timings), max(timings)
            print(f"GET {path:<24} {p50:>8.1f} {p95:>8.1f} {slowest:>8.1f} {spread:>11}")
        dashboard = app.test_client()
        sign_in(dashboard)
        data = dashboard.get("/api/mentor-dashboard/").get_json()["data"]
        figures = data["figures"]
        print(
            "figures: earned this month ₹{:,.2f}, rating {} from {} reviews, {} followers, "
            "conversion {} ({} views, {} booked), attendance {}, repeat learners {} of {}".format(
                figures["earnings_this_month_paise"] / 100,
                figures["rating"]["average"],
                figures["rating"]["count"],
                figures["followers"],
                data["conversion"]["rate"],
                data["conversion"]["views"],
                data["conversion"]["bookings"],
                data["attendance"]["rate"],
                data["repeat_learners"]["repeat"],
                data["repeat_learners"]["learners"],
            )
        )
        print(f"{args.requests} requests of each after {args.warmup} warm-up, in-process test client")
        verdict = "within" if worst <= TARGET_P95_MS else "OVER"
        print(f"p95 {worst:.1f} ms: {verdict} the {TARGET_P95_MS} ms target")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0 if worst <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
