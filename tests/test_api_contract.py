"""The API keeps the contract its document states, checked by requests made from the document.

schemathesis reads the document the app serves (GET /api/openapi.yaml) and, for every operation,
makes requests from the operation's schemas: valid ones, and invalid ones (a wrong type, a value
out of range, a missing or null field, an unknown enum value, an empty query value). Each
request is sent four times: with no sign-in, and with a learner's, a mentor's and an admin's
bearer token. Every answer must:

- never be a server error (5xx);
- have a status the document lists for the operation, and a body matching that status's schema;
- refuse invalid input (a 4xx) instead of acting on it.

Every operation starts from the same small world (a mentor with sessions ahead, held and settled,
payout details and money to pay out; a learner with a free and a paid booking and a held one, a
request to the mentor; another learner's dispute; an admin), restored before the operation, so
the requests of one operation that consume it (a cancellation, a payout, logging out) cannot
spoil the next. Most valid path ids are swapped for ids of that world, so requests reach real
objects rather than only 404s.

Generation is derandomized with a fixed seed and bounded (MAX_EXAMPLES per operation and mode,
plus schemathesis's boundary cases), so a run is repeatable and takes a few minutes. Every
operation of the document is exercised with every check; a check an operation had to be spared
would go in SPARED, with the reason.

Not checked here: that every request the schemas allow is accepted. Some refusals depend on state
or on rules a schema cannot say (a start time in the past, a session already full, a wrong
password); those are 4xx answers the document lists, and the status and body checks hold them to
it.
"""

import contextvars
import zlib
from dataclasses import dataclass
from datetime import timedelta

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete, func, insert, select, text

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.models import AuthKind, Booking, Payout, utcnow
from tests.factories import UserFactory, hold, make_session, paid_booking

ROLES = ("anonymous", "learner", "mentor", "admin")
MAX_EXAMPLES = 10
SEED = 20261206

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection]
# Checks an operation is spared, and why: none today; every operation meets every check.
SPARED = {}


def _load_schema():
    """The document as the app serves it, with the generation settings of this module."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},
            "generation": {
                "mode": "all",  # valid and invalid requests
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "no-shrink": True,  # a failure shows the request as made; shrinking costs minutes
            },
        }
    )
    with create_app("testing").test_client() as client:
        response = client.get("/api/openapi.yaml")
        assert response.status_code == 200
        document = yaml.load(response.get_data(as_text=True), Loader=yaml.CSafeLoader)
    return schemathesis.openapi.from_dict(document, config=config)


schema = _load_schema()


@dataclass
class World:
    tokens: dict  # role -> bearer token
    ids: dict  # path parameter -> ids of real objects


def _token(user):
    from peerlearn.services import auth

    return auth.start_session(user, AuthKind.API).raw_token


def build_world():
    from peerlearn.services import booking as booking_service
    from peerlearn.services import disputes, follows, payout_accounts, session_requests

    learner = UserFactory(name="Lena Learner", email="lena@example.com")
    other = UserFactory(name="Omar Learner", email="omar@example.com")
    mentor = UserFactory(role="mentor", name="Asha Mentor", email="asha@example.com")
    admin = UserFactory(role="admin", name="Ops Admin", email="ops@example.com")

    free = make_session(mentor, title="Free practice")
    paid = make_session(mentor, title="Paid practice", price_paise=50000)
    draft = make_session(mentor, title="Draft practice", status="draft")
    free_booking, _ = booking_service.book(free.id, learner)
    paid_seat, paid_payment = paid_booking(paid, learner)

    # Held three hours ago and settling in two days: its learners may still report a problem.
    held = make_session(mentor, title="Held practice", price_paise=30000)
    held_seat, held_payment = paid_booking(held, learner)
    other_seat, other_payment = paid_booking(held, other)
    held.starts_at = utcnow() - timedelta(hours=3)
    hold(held)
    dispute = disputes.report(other, other_seat.id, "technical", "The audio dropped for most of it.")
    # Held a week ago and settled: money the mentor can ask to be paid.
    settled = make_session(mentor, title="Settled practice", price_paise=80000)
    _, settled_payment = paid_booking(settled, other)
    settled.starts_at = utcnow() - timedelta(days=7)
    hold(settled, settlement=timedelta(hours=1))

    payout_accounts.save(mentor, {"kind": "upi", "upi_id": "asha.mentor@okaxis"})
    follows.follow(learner, mentor.id)
    request = session_requests.create_request(
        learner,
        mentor.id,
        {"topic": "Flask blueprints", "preferred_times": [(utcnow() + timedelta(days=5)).isoformat()]},
    )
    db.session.commit()
    return World(
        tokens={"learner": _token(learner), "mentor": _token(mentor), "admin": _token(admin)},
        ids={
            "session_id": [free.id, paid.id, draft.id, held.id, settled.id],
            "booking_id": [free_booking.id, paid_seat.id, held_seat.id],
            "payment_id": [paid_payment.id, held_payment.id, other_payment.id, settled_payment.id],
            "user_id": [mentor.id, learner.id, other.id],
            "dispute_id": [dispute.id],
            "request_id": [request.id],
        },
    )


class Snapshot:
    """Every row of every table, taken once and put back before each operation: building the
    world through the services (payments, emails) takes seconds, putting rows back a few
    milliseconds. Works on SQLite and PostgreSQL alike."""

    def __init__(self):
        self.rows = {
            table.name: [dict(row) for row in db.session.execute(select(table)).mappings()]
            for table in db.metadata.sorted_tables
        }

    def restore(self):
        tables = db.metadata.sorted_tables
        for table in reversed(tables):
            db.session.execute(delete(table))
        for table in tables:
            if self.rows[table.name]:
                db.session.execute(insert(table), self.rows[table.name])
        if db.engine.dialect.name == "postgresql":
            # Rows put back with their ids leave the id sequences behind; move them past.
            for table in tables:
                if "id" in table.c and self.rows[table.name]:
                    db.session.execute(
                        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                        {"table": table.name, "last": max(row["id"] for row in self.rows[table.name])},
                    )
        db.session.commit()


_built = {}


@pytest.fixture
def world(app, database_url):
    """The world in this test's database: built once per run, restored for every other test."""
    if database_url not in _built:
        world = build_world()
        _built[database_url] = (world, Snapshot())
        return world
    world, snapshot = _built[database_url]
    snapshot.restore()
    return world


def _use_real_ids(case, world):
    """Swap three in four valid path ids for ids of the world; which, follows from the request
    itself, so a run is repeatable."""
    for name, value in list(case.path_parameters.items()):
        known = world.ids.get(name)
        if not known or not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 2**31:
            continue
        pick = zlib.crc32(repr((case.method, case.path, value, case.query, case.body)).encode())
        if pick % 4:
            case.path_parameters[name] = known[pick % len(known)]


@schema.parametrize()
# The world is restored once per operation and shared by its requests (see the docstring).
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_operation_keeps_its_contract(app, world, case):
    _use_real_ids(case, world)
    checks = [check for check in CHECKS if check not in SPARED.get(case.operation.label, ())]
    for role in ROLES:
        headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role in world.tokens else {}
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=checks, headers=headers)


# ------------------------------------------------------------ what the fuzzing found, one by one


def _bearer(world, role):
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def test_a_payout_of_null_is_refused_and_pays_nothing(client, world):
    """``amount_paise: null`` used to be read as "left out" and paid out the whole balance."""
    response = client.post("/api/payouts/", json={"amount_paise": None}, headers=_bearer(world, "mentor"))
    assert response.status_code == 422
    assert "amount_paise" in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count(Payout.id))) == 0

    # Left out, as the document promises: everything available.
    summary = client.get("/api/earnings/", headers=_bearer(world, "mentor")).get_json()["data"]["summary"]
    assert summary["available_paise"] > 0
    response = client.post("/api/payouts/", json={}, headers=_bearer(world, "mentor"))
    assert response.status_code == 201
    assert response.get_json()["data"]["amount_paise"] == summary["available_paise"]


@pytest.mark.parametrize(
    ("role", "path", "field"),
    [
        ("learner", "/api/bookings/?tab=AAA", "tab"),
        ("learner", "/api/sessions/?date_to=", "date_to"),
        ("learner", "/api/sessions/?sort=", "sort"),
        ("learner", "/api/requests/?status=", "status"),
        ("learner", "/api/requests/?status=bogus", "status"),
        ("learner", "/api/notifications/?kind=", "kind"),
        ("admin", "/api/admin/payments/?status=", "status"),
        ("admin", "/api/admin/payments/?date_to=", "date_to"),
        ("admin", "/api/admin/users/?role=", "role"),
        ("admin", "/api/admin/audit/?target_id=", "target_id"),
        ("admin", "/api/admin/disputes/?state=", "state"),
    ],
)
def test_a_filter_that_is_not_one_of_its_values_is_refused(client, world, role, path, field):
    response = client.get(path, headers=_bearer(world, role))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_known_tabs_and_filters_still_answer(client, world):
    for path in (
        "/api/bookings/?tab=past",
        "/api/sessions/?date_to=2099-01-01",
        "/api/requests/?status=pending",
    ):
        assert client.get(path, headers=_bearer(world, "learner")).status_code == 200, path


def test_teaching_with_a_null_hourly_rate_is_refused(client, world):
    """A null rate used to be saved as ₹0 an hour."""
    response = client.post(
        "/api/profile/teaching/",
        json={"headline": "Python tutor", "hourly_rate_paise": None},
        headers=_bearer(world, "mentor"),
    )
    assert response.status_code == 422
    assert "hourly_rate_paise" in response.get_json()["error"]["fields"]


def test_the_document_is_read_whole(app):
    """It used to be sent from an open file, left open by a client that never closed the response
    (schemathesis's, for one)."""
    with app.test_request_context("/api/openapi.yaml"):
        response = app.full_dispatch_request()
    assert response.status_code == 200
    assert not response.is_streamed
    assert yaml.load(response.get_data(as_text=True), Loader=yaml.CSafeLoader)["openapi"].startswith("3.1")


# ------------------------------------------------------------ sockets signed in with a bearer token


def _socket(app, **kwargs):
    from peerlearn.extensions import socketio

    return contextvars.Context().run(socketio.test_client, app, **kwargs)


def _run(func, *args, **kwargs):
    return contextvars.Context().run(func, *args, **kwargs)


def test_a_socket_signs_in_with_a_bearer_token_as_docs_realtime_says(app, client, world):
    sio = _socket(app, headers=_bearer(world, "learner"))
    assert sio.is_connected()
    me = _run(sio.emit, "whoami", {}, callback=True)
    learner_id = db.session.scalar(select(Booking.learner_id).where(Booking.id == world.ids["booking_id"][0]))
    assert me["user_id"] == learner_id

    assert not _socket(app, headers={"Authorization": "Bearer not-a-token"}).is_connected()

    # Logging the token out drops its socket.
    assert client.post("/api/logout/", headers=_bearer(world, "learner")).status_code == 200
    assert not sio.is_connected()
