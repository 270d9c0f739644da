"""``GET /metrics`` in Prometheus's text format (prometheus-client).

Two kinds of figures:

- **This process's**: requests by route (the URL rule, never the raw path, so ids and slugs do
  not make a series each) and status class, with a latency histogram; the sockets open on this
  process and the rooms they are in; its CPU, memory and file descriptors. Every web process
  (one per port under systemd, ``peerlearn-web@<port>``) counts its own, so Prometheus scrapes
  each port (docs/operations.md, Health and logs).
- **The install's**, read at scrape time by :class:`StateCollector`: queue depths and failed jobs
  from Redis; emails, payments, refunds, payouts and what the reconciler has left from the
  database; what the payments reconciler found, run after run (services/reconcile_log.py). The
  worker's work counts though only web processes are scraped, and every process shows the same
  figures.

Only addresses in METRICS_ALLOWED_IPS (loopback by default; the client address after
PROXY_COUNT proxies) or a request bearing ``Authorization: Bearer <METRICS_TOKEN>`` see it;
anyone else gets the site's 404, as if there were nothing there.
"""

import hmac
import ipaddress
import logging
import time

from flask import Response, abort, current_app, g, request

log = logging.getLogger(__name__)

# Seconds: the bulk of pages answer in milliseconds; sign-in (Argon2) and uploads take longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # no URL rule: a 404 or a 405 before any view


def init_app(app):
    from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
    from prometheus_client.process_collector import ProcessCollector

    # Each counter's *_created twin (when its series began) only doubles the page.
    disable_created_metrics()
    # A registry per app: tests build many apps in one process, each with its own figures. Not
    # auto-described: that would run the collectors (and their queries) as they register.
    registry = CollectorRegistry()
    requests_total = Counter(
        "peerlearn_http_requests",
        "HTTP requests answered by this process, by URL rule, method and status class.",
        ("route", "method", "status"),
        registry=registry,
    )
    latency = Histogram(
        "peerlearn_http_request_duration_seconds",
        "Time from routing a request to its response being ready (the body may stream after).",
        ("route", "method"),
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    ProcessCollector(registry=registry)
    registry.register(SocketCollector(app))
    registry.register(StateCollector(app))
    app.extensions["peerlearn_metrics"] = registry

    def start_timer():
        g._metrics_started = time.perf_counter()

    def count(response):
        started = g.pop("_metrics_started", None)
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else UNMATCHED
            # Any word is a method to Werkzeug: an unknown one must not make a new series.
            method = request.method if request.method in METHODS else "other"
            requests_total.labels(route, method, f"{response.status_code // 100}xx").inc()
            latency.labels(route, method).observe(time.perf_counter() - started)
        return response

    # First before every other hook and last after them, so the figure covers them all. Socket.IO
    # traffic never reaches these hooks (its middleware answers it before Flask).
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)
    app.after_request_funcs.setdefault(None, []).insert(0, count)
    app.add_url_rule("/metrics", "metrics", metrics_view)


def metrics_view():
    if not allowed(request.remote_addr, request.headers.get("Authorization", ""), current_app.config):
        abort(404)
    from prometheus_client.exposition import choose_encoder

    # The format the scraper asks for (OpenMetrics for Prometheus itself), else the classic text.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encode(current_app.extensions["peerlearn_metrics"])
    return Response(body, headers={"Content-Type": content_type, "Cache-Control": "no-store"})


def allowed(remote_addr, authorization, config):
    """A METRICS_ALLOWED_IPS address (a network such as 10.0.0.0/8 counts too), or the token."""
    token = config["METRICS_TOKEN"]
    scheme, _, offered = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    for entry in config["METRICS_ALLOWED_IPS"]:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            log.warning("METRICS_ALLOWED_IPS: %r is not an address or network", entry)
    return False


class SocketCollector:
    """Sockets open on this process, and the live rooms they are in (read from the room roster
    the sockets package keeps: read only)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from .extensions import socketio

        # python-socketio's manager keeps every connected client of this process in the room
        # None of its namespace; the sign-in of each lands it in "/".
        manager = getattr(getattr(socketio, "server", None), "manager", None)
        connected = getattr(manager, "rooms", {}).get("/", {}).get(None, {})
        sockets = GaugeMetricFamily("peerlearn_sockets_open", "Socket.IO clients connected to this process.")
        sockets.add_metric([], len(connected))
        yield sockets
        rooms, participants = room_counts(self.app.extensions.get("peerlearn_room_roster"))
        yield GaugeMetricFamily(
            "peerlearn_rooms_open", "Live rooms with a participant connected to this process.", value=rooms
        )
        yield GaugeMetricFamily(
            "peerlearn_room_participants",
            "Participants in live rooms whose socket is on this process.",
            value=participants,
        )


def room_counts(roster):
    """(rooms, participants) of this process's sockets, from either roster; (0, 0) before any
    room was joined here."""
    if roster is None:
        return 0, 0
    rooms = getattr(roster, "_rooms", None)
    if rooms is not None:  # LocalRoster: this process is the whole site
        members = list(rooms.values())
        return len(members), sum(len(room) for room in members)
    pairs = [pair for held in list(getattr(roster, "_local", {}).values()) for pair in held]
    return len({session_id for session_id, _user_id in pairs}), len(pairs)


class StateCollector:
    """Figures read from Redis and the database at scrape time. A source that cannot be read
    shows ``peerlearn_metrics_source_up{source=...} 0`` and leaves its figures out."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(
            "peerlearn_metrics_source_up",
            "Whether the last scrape could read this source (database, redis).",
            labels=("source",),
        )
        with self.app.app_context():
            families, ok = self._guarded(database_families)
            yield from families
            up.add_metric(["database"], ok)
            families, ok = self._guarded(reconcile_families)
            yield from families
            up.add_metric(["reconciler"], ok)
            if not self.app.config["JOBS_INLINE"]:
                families, ok = self._guarded(queue_families)
                yield from families
                up.add_metric(["redis"], ok)
        yield up

    @staticmethod
    def _guarded(read):
        try:
            return list(read()), 1
        except Exception as exc:
            log.warning("metrics: %s could not be read (%s: %s)", read.__name__, type(exc).__name__, exc)
            return [], 0


RECONCILE_COUNTERS = {
    "runs": "Runs of the payments reconciler.",
    "checked": "Open orders the reconciler asked the gateway about.",
    "captured": "Orders the reconciler found paid: their webhook never came.",
    "failed": "Orders the reconciler marked failed.",
    "errors": "Gateway errors the reconciler met (the order or refund is asked again next run).",
    "refunds_settled": "Pending refunds the reconciler sent or saw settled.",
}


def reconcile_families():
    """What the reconciler found, run after run (services/reconcile_log.py), and its last run."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from .services import reconcile_log

    totals = reconcile_log.totals()
    for name, text in RECONCILE_COUNTERS.items():
        family = "peerlearn_reconcile_runs" if name == "runs" else f"peerlearn_reconcile_{name}"
        yield CounterMetricFamily(family, text, value=totals[name])
    yield GaugeMetricFamily(
        "peerlearn_reconcile_last_run_timestamp_seconds",
        "When the payments reconciler last ran (Unix time; 0 if never since the counts began).",
        value=totals["last_run"],
    )


def queue_families():
    from prometheus_client.core import GaugeMetricFamily

    from . import tasks

    queued = GaugeMetricFamily("peerlearn_queue_jobs", "Jobs waiting on each RQ queue.", labels=("queue",))
    failed = GaugeMetricFamily(
        "peerlearn_failed_jobs", "Jobs in each queue's failed registry (retries used up).", labels=("queue",)
    )
    for name in tasks.QUEUES:
        queue = tasks.get_queue(name)
        queued.add_metric([name], queue.count)
        failed.add_metric([name], queue.failed_job_registry.count)
    return queued, failed


def database_families():
    """Emails by status, payments by status and purpose (count and paise), refunds and payouts
    by status, and what the payments reconciler has left to settle."""
    from prometheus_client.core import GaugeMetricFamily
    from sqlalchemy import func, select

    from .extensions import db
    from .models import OutboundEmail, Payment, Payout, Refund
    from .models.base import utcnow
    from .services.payments import RECONCILE_WINDOW

    session = db.session
    try:
        emails = GaugeMetricFamily("peerlearn_emails", "Outbound emails by status.", labels=("status",))
        for status, count in session.execute(
            select(OutboundEmail.status, func.count()).group_by(OutboundEmail.status)
        ):
            emails.add_metric([status], count)
        yield emails

        payments = GaugeMetricFamily(
            "peerlearn_payments", "Payments by status and purpose.", labels=("status", "purpose")
        )
        payments_paise = GaugeMetricFamily(
            "peerlearn_payments_paise",
            "Amount of the payments by status and purpose, in paise.",
            labels=("status", "purpose"),
        )
        refunded_paise = GaugeMetricFamily(
            "peerlearn_payments_refunded_paise",
            "Refunded from captured payments, in paise, by purpose.",
            labels=("purpose",),
        )
        refunded = {}
        for status, purpose, count, amount, refund in session.execute(
            select(
                Payment.status,
                Payment.purpose,
                func.count(),
                func.coalesce(func.sum(Payment.amount_paise), 0),
                func.coalesce(func.sum(Payment.refunded_paise), 0),
            ).group_by(Payment.status, Payment.purpose)
        ):
            payments.add_metric([status, purpose], count)
            payments_paise.add_metric([status, purpose], int(amount))
            refunded[purpose] = refunded.get(purpose, 0) + int(refund)
        for purpose, amount in refunded.items():
            refunded_paise.add_metric([purpose], amount)
        yield payments
        yield payments_paise
        yield refunded_paise

        for model, name, what in ((Refund, "refunds", "Refunds"), (Payout, "payouts", "Payouts to mentors")):
            count_family = GaugeMetricFamily(f"peerlearn_{name}", f"{what} by status.", labels=("status",))
            paise_family = GaugeMetricFamily(
                f"peerlearn_{name}_paise", f"{what} by status, in paise.", labels=("status",)
            )
            for status, count, amount in session.execute(
                select(model.status, func.count(), func.coalesce(func.sum(model.amount_paise), 0)).group_by(
                    model.status
                )
            ):
                count_family.add_metric([status], count)
                paise_family.add_metric([status], int(amount))
            yield count_family
            yield paise_family

        open_orders = session.scalar(
            select(func.count()).where(
                Payment.status.in_(("created", "failed")), Payment.created_at >= utcnow() - RECONCILE_WINDOW
            )
        )
        yield GaugeMetricFamily(
            "peerlearn_reconcile_open_orders",
            "Orders created or failed within the reconcile window: what the reconciler still asks "
            "the gateway about.",
            value=open_orders,
        )
        pending = session.scalar(select(func.count()).where(Refund.status == "pending"))
        yield GaugeMetricFamily(
            "peerlearn_reconcile_pending_refunds",
            "Refunds the reconciler has not yet seen settled at the gateway.",
            value=pending,
        )
    finally:
        session.rollback()
