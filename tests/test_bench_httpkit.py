"""bench/httpkit.py, which the booking storm and the catalog bench trust to send their requests
at the same moment from several client processes."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import httpkit

CLIENTS = 12


@contextmanager
def gathering_server(parties):
    """A loopback server whose /gather answers only once ``parties`` requests are waiting there
    (503 if they do not all arrive within ten seconds); /healthz answers at once."""
    everyone_here = threading.Barrier(parties, timeout=10)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn

        def do_GET(self):
            status = 200
            if self.path == "/gather":
                try:
                    everyone_here.wait()
                except threading.BrokenBarrierError:
                    status = 503
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_every_client_has_sent_before_any_answer_comes():
    with gathering_server(CLIENTS) as base_url:
        hits = httpkit.run_together(
            list(range(CLIENTS)),
            lambda http, _client: httpkit.request(http, "GET", f"{base_url}/gather", "gather"),
            base_url=base_url,
            processes=3,
        )
    assert [hit.status for hit in hits] == [200] * CLIENTS
    assert httpkit.most_in_flight(hits) == CLIENTS


def test_results_come_back_in_the_clients_order():
    with gathering_server(1) as base_url:
        answers = httpkit.run_together(
            ["a", "b", "c", "d", "e"], lambda _http, client: client * 2, base_url=base_url, processes=2
        )
    assert answers == ["aa", "bb", "cc", "dd", "ee"]


def test_a_client_that_fails_fails_the_run_with_its_traceback():
    def body(_http, client):
        if client == 3:
            raise ValueError("client three broke")
        return client

    with gathering_server(1) as base_url, pytest.raises(RuntimeError, match="client three broke"):
        httpkit.run_together(list(range(5)), body, base_url=base_url, processes=2)


def test_a_refused_connection_is_a_hit_without_status():
    with gathering_server(1) as base_url:
        pass  # the server is gone: nothing listens on its port now
    import requests

    with requests.Session() as http:
        hit = httpkit.request(http, "GET", f"{base_url}/healthz", "gone")
    assert hit.status == 0
    assert "ConnectionError" in hit.error


def test_most_in_flight_counts_overlapping_requests_only():
    def hit(started, finished):
        return httpkit.Hit("x", started, finished, 200)

    assert httpkit.most_in_flight([hit(0, 1), hit(2, 3), hit(4, 5)]) == 1
    assert httpkit.most_in_flight([hit(0, 5), hit(1, 2), hit(1.5, 6), hit(5.5, 7)]) == 3
