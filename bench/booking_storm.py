"""Booking storm: ``--attempts`` learners book the last few seats of one session at the same
moment, over HTTP, against a production server on PostgreSQL; then the winners pay.

    .venv/bin/python bench/booking_storm.py [--attempts 200] [--seats 10] [--processes 4]
        [--price 49900] [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]

``--database-url`` is another name for ``--admin-database-url``.

Setup: a scratch PostgreSQL database (created through the admin URL, dropped afterwards) with
one mentor, one published session starting in two days with ``--seats`` seats at ``--price``
paise (0 makes it free), and ``--attempts`` verified learners. One production server process
(gunicorn -k gevent -w 1 wsgi:app, see bench/httpkit.py and bench/roomkit.py for its settings;
the database pool is the production one) serves everything. Every learner signs in through
`POST /api/login/` before the storm; nothing of that is measured.

The storm: ``--attempts`` clients, one thread and one open keep-alive connection each, spread
over ``--processes`` client processes, wait at a barrier and are released together; each sends
one `POST /api/sessions/<id>/book/` with its bearer token. The bench prints how many requests
the clients had in flight at once at most (the attempts, when every request was sent before the
first answer came) and the time from the first send to the last, then every answer by status and
code: exactly ``--seats`` must be 201 (a seat held, or booked when free), all the others 409
session_full; a 5xx, any other status or a broken connection fails the run. Latency p50/p95/p99
of all attempts and of the accepted and refused ones, the attempts per second from the first
send to the last answer, and the load average follow.

Then every winner pays at the same moment, as a browser would: `POST /api/create-payment/`, the
dev gateway's checkout page and its pay form (signed in through the login form beforehand), and
`POST /api/verify-payment/` with the signature the checkout returned (skipped when free).

Checked from the database afterwards (any failure prints MISMATCH and exits 1): the session's
seats_taken equals its seats; its bookings are exactly the 201 answers (same ids, same learners,
one per learner, none for a refused learner); each is confirmed, with one captured payment of
the price; the ledger's entries for every payment balance (captured − refunded = platform fee +
mentor earning, services.ledger.check_payment_invariant) and add up to the seats times the price.
The server's log must hold no traceback.

The machine's other work shows in the load average; the client processes share the machine
with the server and PostgreSQL.
"""

import argparse
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import httpkit, roomkit

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REFUSED = "409 session_full"


def seed(database_url, attempts, seats, price):
    """Schema, a mentor, the session and the learners; returns (session id, learner emails)."""
    from peerlearn.extensions import db
    from peerlearn.models import utcnow

    app = roomkit.testing_app(database_url, LOG_LEVEL="WARNING")
    with app.app_context():
        db.create_all()
        make_user = roomkit.account_maker()
        mentor = make_user("mentor@storm.test", "Storm Mentor", "mentor")
        learners = [make_user(f"learner{n}@storm.test", f"Learner {n}", "learner") for n in range(attempts)]
        db.session.flush()
        session = roomkit.open_session(
            mentor,
            "The last seats",
            starts_at=utcnow() + timedelta(days=2),
            capacity=seats,
            price_paise=price,
        )
        db.session.add(session)
        db.session.commit()
        seeded = session.id, [learner.email for learner in learners]
        db.session.remove()
        db.engine.dispose()
    return seeded


def api_token(base_url, email):
    import requests

    response = requests.post(
        f"{base_url}/api/login/", json={"email": email, "password": roomkit.PASSWORD}, timeout=roomkit.TIMEOUT
    )
    if response.status_code != 200:
        raise RuntimeError(f"API login of {email} failed: {response.status_code} {response.text[:200]}")
    data = response.json()["data"]
    return data["token"], data["user"]["id"]


def outcome(hit):
    """What one attempt got: "201 pending_payment", "409 session_full", "no answer (...)"."""
    if hit.status == 0:
        return f"no answer ({hit.error.split(':')[0]})"
    if hit.body is None:
        return f"{hit.status} (not JSON)"
    if hit.body.get("success"):
        return f"{hit.status} {hit.body['data']['status']}"
    return f"{hit.status} {hit.body['error']['code']}"


def storm(base_url, session_id, tokens, processes):
    url = f"{base_url}/api/sessions/{session_id}/book/"

    def attempt(http, token):
        return httpkit.request(
            http, "POST", url, "book", keep_body=True, headers={"Authorization": f"Bearer {token}"}
        )

    return httpkit.run_together(tokens, attempt, base_url=base_url, processes=processes)


def pay(http, winner):
    """A winner pays for the held seat as a browser does; returns the Hits, the last one the
    verification's."""
    base_url, token, booking_id, cookies = winner
    bearer = {"Authorization": f"Bearer {token}"}
    http.cookies.update(cookies)
    hits = [
        httpkit.request(
            http,
            "POST",
            f"{base_url}/api/create-payment/",
            "create-payment",
            keep_body=True,
            headers=bearer,
            json={"booking_id": booking_id},
        )
    ]
    if hits[-1].status != 200:
        return hits
    order_id = hits[-1].body["data"]["payment"]["order_id"]
    checkout = f"{base_url}/payments/dev-checkout/{order_id}"
    started = time.perf_counter()
    page = http.get(checkout, timeout=roomkit.TIMEOUT)
    hits.append(httpkit.Hit("checkout page", started, time.perf_counter(), page.status_code))
    csrf = roomkit.CSRF_META.search(page.text).group(1)
    started = time.perf_counter()
    paid = http.post(
        f"{checkout}/pay",
        data={"method": "upi", "csrf_token": csrf},
        allow_redirects=False,
        timeout=roomkit.TIMEOUT,
    )
    hits.append(httpkit.Hit("pay", started, time.perf_counter(), paid.status_code))
    if paid.status_code != 303:
        return hits
    returned = parse_qs(urlsplit(paid.headers["Location"]).query)
    hits.append(
        httpkit.request(
            http,
            "POST",
            f"{base_url}/api/verify-payment/",
            "verify-payment",
            keep_body=True,
            headers=bearer,
            json={
                "razorpay_order_id": order_id,
                "razorpay_payment_id": returned["payment_id"][0],
                "razorpay_signature": returned["signature"][0],
            },
        )
    )
    return hits


def check_database(database_url, session_id, seats, price, accepted):
    """The problems found in the database after the storm and the payments ([] when none), and
    the ledger's totals by kind. ``accepted`` maps booking id -> learner id of the 201 answers."""
    from sqlalchemy import func, select

    from peerlearn.extensions import db
    from peerlearn.models import Booking, LearningSession, LedgerEntry, Payment
    from peerlearn.services import ledger

    problems = []
    app = roomkit.testing_app(database_url, LOG_LEVEL="WARNING")
    with app.app_context():
        session = db.session.get(LearningSession, session_id)
        if session.seats_taken != seats:
            problems.append(f"seats_taken is {session.seats_taken}, not {seats}")
        bookings = db.session.scalars(select(Booking).where(Booking.session_id == session_id)).all()
        found = {booking.id: booking.learner_id for booking in bookings}
        if found != accepted:
            problems.append(
                f"the bookings {sorted(found.items())} are not the 201 answers {sorted(accepted.items())}"
            )
        per_learner = Counter(booking.learner_id for booking in bookings)
        if per_learner and max(per_learner.values()) > 1:
            problems.append("a learner holds more than one booking")
        for booking in bookings:
            if booking.status != "confirmed":
                problems.append(f"booking {booking.id} is {booking.status}, not confirmed")
        payments = db.session.scalars(select(Payment)).all()
        if price:
            captured = [payment for payment in payments if payment.is_captured]
            if sorted(payment.booking_id for payment in captured) != sorted(found):
                problems.append("the captured payments are not one per booking")
            if any(payment.amount_paise != price for payment in captured):
                problems.append(f"a captured payment is not {price} paise")
        elif payments:
            problems.append(f"{len(payments)} payments for a free session")
        problems.extend(ledger.all_payments_balance())
        totals = {
            kind: int(total)
            for kind, total in db.session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.amount_paise)).group_by(LedgerEntry.kind)
            )
        }
        if totals.get("payment", 0) != seats * price:
            problems.append(f"the ledger received {totals.get('payment', 0)} paise, not {seats * price}")
        db.session.remove()
        db.engine.dispose()
    return problems, totals


def report_storm(hits, signed_in, emails, seats):
    """Print what the storm's attempts got; returns (accepted, winners, problems): the 201
    answers as booking id -> learner id, the winners as (token, booking id, email)."""
    accepted, outcomes, problems, winners = {}, Counter(), [], []
    for (token, learner_id), email, hit in zip(signed_in, emails, hits, strict=True):
        outcomes[outcome(hit)] += 1
        if hit.status == 201:
            accepted[hit.body["data"]["id"]] = learner_id
            winners.append((token, hit.body["data"]["id"], email))
    if len(winners) != seats:
        problems.append(f"{len(winners)} attempts got a seat, not {seats}")
    wrong = sum(count for name, count in outcomes.items() if not name.startswith(("201 ", REFUSED)))
    if wrong:
        problems.append(f"{wrong} answers were neither 201 nor {REFUSED}")

    first_sent = min(hit.started for hit in hits)
    spread = max(hit.started for hit in hits) - first_sent
    last_answer = max(hit.finished for hit in hits) - first_sent
    print(
        f"  in flight at once: {httpkit.most_in_flight(hits)} of {len(hits)}; all sent within "
        f"{spread * 1000:.1f} ms; the last answer came {last_answer * 1000:.0f} ms after the first send "
        f"({len(hits) / last_answer:.0f} attempts/s)"
    )
    print("  answers:")
    for name, count in sorted(outcomes.items()):
        print(f"    {name:32} {count}")
    print(f"  latency, all:      {httpkit.describe([hit.milliseconds for hit in hits])}")
    for label, status in (("accepted", 201), ("refused", 409)):
        chosen = [hit.milliseconds for hit in hits if hit.status == status]
        if chosen:
            print(f"  latency, {label + ':':9} {httpkit.describe(chosen)} ({len(chosen)})")
    return accepted, winners, problems


def pay_together(base_url, winners):
    """Every winner pays at the same moment; prints the answers, returns the problems."""
    with ThreadPoolExecutor(8) as pool:
        jars = list(pool.map(lambda winner: roomkit.sign_in(base_url, winner[2]), winners))
    payers = [
        (base_url, token, booking_id, jar.cookies)
        for (token, booking_id, _email), jar in zip(winners, jars, strict=True)
    ]
    paid = httpkit.run_together(payers, pay, base_url=base_url, processes=1)
    steps = Counter((hit.label, hit.status) for hits in paid for hit in hits)
    print(
        f"  the {len(payers)} winners paid at once: "
        + ", ".join(f"{label} {status} x{count}" for (label, status), count in sorted(steps.items()))
    )
    verified = [hits[-1] for hits in paid]
    refused = [
        (hit.label, hit.status) for hit in verified if hit.label != "verify-payment" or hit.status != 200
    ]
    if refused:
        return [f"{len(refused)} winners could not pay: {refused}"]
    print(f"  latency, verify-payment: {httpkit.describe([hit.milliseconds for hit in verified], (50, 95))}")
    return []


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--seats", type=int, default=10)
    parser.add_argument(
        "--processes", type=int, default=4, help="client processes the attempts are spread over"
    )
    parser.add_argument("--price", type=int, default=49900, help="the session's price in paise (0: free)")
    parser.add_argument(
        "--admin-database-url",
        "--database-url",
        default=ADMIN_URL,
        help="a PostgreSQL database to connect to for CREATE DATABASE (never used otherwise)",
    )
    args = parser.parse_args()
    if not 0 < args.seats < args.attempts:
        parser.error("--seats must be at least 1 and fewer than --attempts")

    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-storm-") as folder,
        roomkit.scratch_database(args.admin_database_url) as database_url,
    ):
        session_id, emails = seed(database_url, args.attempts, args.seats, args.price)
        with httpkit.production_server(database_url, Path(folder), tag="storm") as server:
            with ThreadPoolExecutor(8) as pool:
                signed_in = list(pool.map(lambda email: api_token(server.url, email), emails))
            print(
                f"Booking storm: {args.attempts} learners at once for {args.seats} seats at {args.price} "
                f"paise, over HTTP from {args.processes} client processes to gunicorn -k gevent -w 1 "
                "on PostgreSQL"
            )
            print(f"bench-only server settings: {roomkit.describe_settings()}")
            print(f"keep-alive {httpkit.KEEP_ALIVE_SECONDS} s; load average before: {httpkit.load_average()}")
            hits = storm(server.url, session_id, [token for token, _id in signed_in], args.processes)
            accepted, winners, problems = report_storm(hits, signed_in, emails, args.seats)
            if args.price and winners:
                problems += pay_together(server.url, winners)
            print(f"  load average at the end: {httpkit.load_average()}")
            tracebacks = server.output().count("Traceback")
        found, totals = check_database(database_url, session_id, args.seats, args.price, accepted)
    problems += found
    if tracebacks:
        problems.append(f"the server logged {tracebacks} tracebacks")
    print(
        "  ledger by kind (paise): " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items())) or "empty")
    )
    for problem in problems:
        print(f"  MISMATCH: {problem}")
    verdict = f"exactly the seats were {'taken and paid for' if args.price else 'taken'}, the rest refused"
    verdict += "; the ledger balances" if args.price else ""
    print(f"  result: {verdict if not problems else 'MISMATCH'}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
