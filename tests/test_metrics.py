"""/metrics: Prometheus's text format, request figures by URL rule, figures read from the
database and Redis at scrape time, and only for allowed addresses or the token."""

import pytest
from flask import Response
from prometheus_client.parser import text_string_to_metric_families

from peerlearn import create_app, metrics
from peerlearn.extensions import db
from peerlearn.models import OutboundEmail, Payment, Payout, Refund
from peerlearn.sockets.roster import LocalRoster
from tests.conftest import IsolatedClient

TOKEN = "a-long-metrics-token-for-the-tests"  # noqa: S105 - a test's own token


@pytest.fixture
def metrics_app(app):
    """The test app with /metrics (create_app wires it; an app built without it gets it here)."""
    if "peerlearn_metrics" not in app.extensions:
        metrics.init_app(app)
    return app


def scrape(app, **kwargs):
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}


def value(families, name, sample_name=None, **labels):
    """The sample of ``name`` with exactly these labels, or None."""
    for sample in families[name].samples:
        if sample.name == (sample_name or name) and sample.labels == labels:
            return sample.value
    return None


def test_the_page_is_prometheus_text(metrics_app):
    response = metrics_app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    assert families["peerlearn_http_requests"].type == "counter"
    assert families["peerlearn_http_request_duration_seconds"].type == "histogram"
    assert families["peerlearn_sockets_open"].type == "gauge"
    assert value(families, "peerlearn_metrics_source_up", source="database") == 1
    # Embedded mode: no queues to read.
    assert value(families, "peerlearn_metrics_source_up", source="redis") is None
    assert "process_cpu_seconds" in families


def test_a_request_moves_the_counter_and_the_histogram(metrics_app):
    labels = {"route": "/healthz", "method": "GET"}
    before = scrape(metrics_app)
    assert (
        value(before, "peerlearn_http_requests", "peerlearn_http_requests_total", status="2xx", **labels)
        is None
    )
    client = metrics_app.test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    after = scrape(metrics_app)
    assert (
        value(after, "peerlearn_http_requests", "peerlearn_http_requests_total", status="2xx", **labels) == 3
    )
    duration = "peerlearn_http_request_duration_seconds"
    assert value(after, duration, f"{duration}_count", **labels) == 3
    assert value(after, duration, f"{duration}_bucket", le="+Inf", **labels) == 3


def test_routes_are_labelled_by_their_rule_never_the_path(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/sessions/424242").status_code == 404
    assert client.get("/sessions/434343").status_code == 404
    assert client.get("/no/such/page/at-all").status_code == 404
    families = scrape(metrics_app)
    routes = {sample.labels["route"] for sample in families["peerlearn_http_requests"].samples}
    assert "/sessions/<int:session_id>" in routes
    assert not any("424242" in route or "at-all" in route for route in routes)
    total = "peerlearn_http_requests_total"
    rule = "/sessions/<int:session_id>"
    assert value(families, "peerlearn_http_requests", total, route=rule, method="GET", status="4xx") == 2
    unmatched = value(
        families, "peerlearn_http_requests", total, route="<unmatched>", method="GET", status="4xx"
    )
    assert unmatched == 1


def test_odd_methods_share_one_label(metrics_app):
    client = metrics_app.test_client()
    for method in ("BREW", "PROPFIND", "X-ANYTHING"):
        assert client.open("/healthz", method=method).status_code == 405
    families = scrape(metrics_app)
    methods = {sample.labels["method"] for sample in families["peerlearn_http_requests"].samples}
    assert methods == {"other"}  # the scrape itself is counted once answered
    total = "peerlearn_http_requests_total"
    assert (
        value(families, "peerlearn_http_requests", total, route="<unmatched>", method="other", status="4xx")
        == 3
    )


def test_prometheus_gets_openmetrics_when_it_asks(metrics_app):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

    response = metrics_app.test_client().get(
        "/metrics",
        headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"},
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    names = {family.name for family in parse_openmetrics(response.get_data(as_text=True))}
    assert "peerlearn_http_requests" in names


def test_a_streamed_response_streams_whole_and_is_counted(metrics_app):
    def stream():
        yield "one,"
        yield "two"

    metrics_app.add_url_rule("/test-stream/<name>", "test_stream", lambda name: Response(stream()))
    response = metrics_app.test_client().get("/test-stream/x")
    assert response.get_data(as_text=True) == "one,two"
    families = scrape(metrics_app)
    total = "peerlearn_http_requests_total"
    assert (
        value(
            families,
            "peerlearn_http_requests",
            total,
            route="/test-stream/<name>",
            method="GET",
            status="2xx",
        )
        == 1
    )


def test_a_server_error_is_counted_as_5xx(metrics_app):
    def broken():
        raise RuntimeError("a bug")

    metrics_app.add_url_rule("/test-broken", "test_broken", broken)
    metrics_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page answers
    assert metrics_app.test_client().get("/test-broken").status_code == 500
    families = scrape(metrics_app)
    total = "peerlearn_http_requests_total"
    assert (
        value(families, "peerlearn_http_requests", total, route="/test-broken", method="GET", status="5xx")
        == 1
    )


# ----- who may see it


def test_loopback_sees_it_and_others_get_404(metrics_app):
    client = metrics_app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 404
    assert b"peerlearn_http_requests" not in refused.data


def test_allowed_addresses_and_networks_are_configurable(metrics_app):
    metrics_app.config["METRICS_ALLOWED_IPS"] = ["10.0.0.0/8", "192.0.2.7"]
    client = metrics_app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.2.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404


def test_the_token_opens_it_from_anywhere(metrics_app):
    metrics_app.config["METRICS_TOKEN"] = TOKEN
    client = metrics_app.test_client()
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    ok = client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer ", TOKEN):
        assert (
            client.get("/metrics", environ_base=remote, headers={"Authorization": wrong}).status_code == 404
        )


def test_no_token_configured_means_no_token_opens_it(metrics_app):
    metrics_app.config["METRICS_TOKEN"] = None
    response = metrics_app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"Authorization": "Bearer "}
    )
    assert response.status_code == 404


@pytest.mark.usefixtures("_postgres_schema")
def test_behind_a_proxy_the_forwarded_client_address_counts(tmp_path):
    app = create_app("testing", {"PROXY_COUNT": 1, "INSTANCE_DIR": str(tmp_path)})
    app.test_client_class = IsolatedClient
    if "peerlearn_metrics" not in app.extensions:
        metrics.init_app(app)
    client = app.test_client()
    # nginx on loopback forwards a visitor from outside: not allowed, though the socket is local.
    forwarded = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 404
    local = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert local.status_code == 200
    with app.app_context():
        db.engine.dispose()


# ----- figures read at scrape time


def test_database_figures_follow_the_rows(metrics_app, make_user):
    mentor = make_user(email="mentor@example.com", role="mentor")
    payer = make_user(email="payer@example.com")
    for status in ("sent", "sent", "failed", "queued"):
        db.session.add(
            OutboundEmail(
                to_address="x@example.com",
                subject="s",
                template="t",
                text_body="",
                html_body="",
                status=status,
            )
        )
    captured = Payment(
        purpose="gift",
        payer_id=payer.id,
        mentor_id=mentor.id,
        gateway="dev",
        order_id="order_1",
        receipt="r1",
        amount_paise=50_000,
        status="partially_refunded",
        refunded_paise=20_000,
    )
    open_order = Payment(
        purpose="gift",
        payer_id=payer.id,
        mentor_id=mentor.id,
        gateway="dev",
        order_id="order_2",
        receipt="r2",
        amount_paise=10_000,
    )
    db.session.add_all([captured, open_order])
    db.session.flush()
    db.session.add_all(
        [
            Refund(payment_id=captured.id, amount_paise=20_000, status="processed", idempotency_key="k1"),
            Refund(payment_id=captured.id, amount_paise=5_000, status="pending", idempotency_key="k2"),
            Payout(mentor_id=mentor.id, amount_paise=30_000, status="paid", reference="UTR1"),
            Payout(mentor_id=mentor.id, amount_paise=7_000),
        ]
    )
    db.session.commit()

    families = scrape(metrics_app)
    assert value(families, "peerlearn_emails", status="sent") == 2
    assert value(families, "peerlearn_emails", status="failed") == 1
    assert value(families, "peerlearn_emails", status="queued") == 1
    assert value(families, "peerlearn_payments", status="partially_refunded", purpose="gift") == 1
    assert value(families, "peerlearn_payments_paise", status="partially_refunded", purpose="gift") == 50_000
    assert value(families, "peerlearn_payments", status="created", purpose="gift") == 1
    assert value(families, "peerlearn_payments_refunded_paise", purpose="gift") == 20_000
    assert value(families, "peerlearn_refunds", status="processed") == 1
    assert value(families, "peerlearn_refunds_paise", status="pending") == 5_000
    assert value(families, "peerlearn_payouts", status="paid") == 1
    assert value(families, "peerlearn_payouts_paise", status="requested") == 7_000
    assert value(families, "peerlearn_reconcile_open_orders") == 1
    assert value(families, "peerlearn_reconcile_pending_refunds") == 1


def test_open_sockets_are_counted(metrics_app, make_user, connect):
    make_user(email="learner@example.com")
    assert value(scrape(metrics_app), "peerlearn_sockets_open") == 0
    sio = connect("learner@example.com")
    assert value(scrape(metrics_app), "peerlearn_sockets_open") == 1
    sio.disconnect()
    assert value(scrape(metrics_app), "peerlearn_sockets_open") == 0


def test_rooms_and_participants_come_from_the_roster(metrics_app):
    roster = LocalRoster()
    metrics_app.extensions["peerlearn_room_roster"] = roster
    roster.add(7, "sid-a", {"user_id": 1})
    roster.add(7, "sid-b", {"user_id": 2})
    roster.add(8, "sid-c", {"user_id": 3})
    families = scrape(metrics_app)
    assert value(families, "peerlearn_rooms_open") == 2
    assert value(families, "peerlearn_room_participants") == 3
    roster.clear(7)
    families = scrape(metrics_app)
    assert value(families, "peerlearn_rooms_open") == 1
    assert value(families, "peerlearn_room_participants") == 1


@pytest.mark.redis
def test_queue_depths_and_failed_jobs(metrics_app, redis_app):
    from rq import SimpleWorker

    from peerlearn.tasks import get_queue, redis_connection

    families = scrape(metrics_app)
    assert value(families, "peerlearn_metrics_source_up", source="redis") == 1
    assert value(families, "peerlearn_queue_jobs", queue="emails") == 0
    assert value(families, "peerlearn_failed_jobs", queue="default") == 0

    get_queue("emails").enqueue(print, "queued")
    get_queue("default").enqueue(divmod, 1, 0)
    SimpleWorker([get_queue("default")], connection=redis_connection()).work(burst=True)
    families = scrape(metrics_app)
    assert value(families, "peerlearn_queue_jobs", queue="emails") == 1
    assert value(families, "peerlearn_queue_jobs", queue="default") == 0
    assert value(families, "peerlearn_failed_jobs", queue="default") == 1


def test_an_unreachable_redis_leaves_its_figures_out(metrics_app):
    from tests.conftest import free_port

    metrics_app.config.update(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", JOBS_INLINE=False)
    families = scrape(metrics_app)
    assert value(families, "peerlearn_metrics_source_up", source="redis") == 0
    assert value(families, "peerlearn_metrics_source_up", source="database") == 1
    assert "peerlearn_queue_jobs" not in families


def test_what_the_reconciler_found_is_counted(metrics_app):
    from peerlearn.services import reconcile_log

    with metrics_app.app_context():
        reconcile_log.record(checked=3, captured=1, failed=1, errors=0, refunds_settled=2)
        reconcile_log.record(checked=1, captured=0, failed=0, errors=1, refunds_settled=0)
    families = scrape(metrics_app)
    assert value(families, "peerlearn_reconcile_runs", "peerlearn_reconcile_runs_total") == 2
    assert value(families, "peerlearn_reconcile_checked", "peerlearn_reconcile_checked_total") == 4
    assert value(families, "peerlearn_reconcile_captured", "peerlearn_reconcile_captured_total") == 1
    assert value(families, "peerlearn_reconcile_failed", "peerlearn_reconcile_failed_total") == 1
    assert value(families, "peerlearn_reconcile_errors", "peerlearn_reconcile_errors_total") == 1
    assert (
        value(families, "peerlearn_reconcile_refunds_settled", "peerlearn_reconcile_refunds_settled_total")
        == 2
    )
    assert value(families, "peerlearn_reconcile_last_run_timestamp_seconds") > 0
    assert value(families, "peerlearn_metrics_source_up", source="reconciler") == 1


@pytest.mark.redis
def test_the_reconcilers_totals_are_shared_through_redis(redis_app):
    """The worker records, a web process scrapes: with Redis both read the same totals."""
    from peerlearn.services import reconcile_log

    with redis_app.app_context():
        reconcile_log.record(checked=2, captured=1, failed=0, errors=0, refunds_settled=0)
        totals = reconcile_log.totals()
    assert (totals["runs"], totals["checked"], totals["captured"]) == (1, 2, 1)
    redis_app.extensions.pop("peerlearn_reconcile_log", None)  # nothing kept in the process
    with redis_app.app_context():
        assert reconcile_log.totals()["checked"] == 2
