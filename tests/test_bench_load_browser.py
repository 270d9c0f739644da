"""bench/load.py's Browser, the keep-alive client each simulated user browses with: it must keep
and drop cookies as a browser does, follow redirects only when asked, send forms and JSON, and
survive the server closing a kept connection."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from bench.load import Browser


@contextmanager
def cookie_server():
    """A loopback HTTP/1.1 server: /set sets two cookies, /drop expires one, /echo answers the
    cookies, body and content type it got, /moved redirects to /echo, /close answers and closes
    the connection, saying so; /hang-up answers and closes it without saying so."""
    connections = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            connections.append(self.client_address)

        def _answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length).decode()
            if self.path == "/set":
                self._answer(
                    200,
                    headers=[
                        ("Set-Cookie", "session=abc; Path=/; HttpOnly"),
                        ("Set-Cookie", "theme=dark; Path=/"),
                    ],
                )
            elif self.path == "/drop":
                self._answer(200, headers=[("Set-Cookie", "theme=; Max-Age=0; Path=/")])
            elif self.path == "/moved":
                self._answer(302, headers=[("Location", "/echo?from=moved")])
            elif self.path == "/close":
                self._answer(200, b"bye", headers=[("Connection", "close")])
                self.close_connection = True
            elif self.path == "/hang-up":  # closes without saying so, as an idle keep-alive ends
                self._answer(200, b"bye")
                self.close_connection = True
            else:
                answer = {
                    "path": self.path,
                    "method": self.command,
                    "cookie": self.headers.get("Cookie"),
                    "type": self.headers.get("Content-Type"),
                    "body": received,
                    "token": self.headers.get("X-CSRFToken"),
                }
                self._answer(200, json.dumps(answer).encode())

        do_GET = do_POST = _handle

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", connections
    finally:
        server.shutdown()
        server.server_close()


def test_keeps_sends_and_drops_cookies_over_one_connection():
    with cookie_server() as (base, connections):
        browser = Browser(base)
        assert browser.request("GET", "/set").status_code == 200
        echoed = json.loads(browser.request("GET", "/echo").text)
        assert echoed["cookie"] == "session=abc; theme=dark"
        browser.request("GET", "/drop")
        assert json.loads(browser.request("GET", "/echo").text)["cookie"] == "session=abc"
        browser.close()
    assert len(connections) == 1  # kept alive between requests


def test_follows_redirects_unless_told_not_to():
    with cookie_server() as (base, _connections):
        browser = Browser(base)
        followed = browser.request("GET", "/moved")
        assert followed.status_code == 200
        assert json.loads(followed.text)["path"] == "/echo?from=moved"
        assert browser.request("POST", "/moved", data={"a": "1"}, follow=False).status_code == 302
        browser.close()


def test_sends_forms_json_and_headers():
    with cookie_server() as (base, _connections):
        browser = Browser(base)
        form = json.loads(browser.request("POST", "/echo", data={"email": "a@b.test", "x": "1 2"}).text)
        assert form["type"] == "application/x-www-form-urlencoded"
        assert parse_qs(form["body"]) == {"email": ["a@b.test"], "x": ["1 2"]}
        sent = browser.request("POST", "/echo", json_body={}, headers={"X-CSRFToken": "t"})
        answer = json.loads(sent.text)
        assert (answer["type"], answer["body"], answer["token"]) == ("application/json", "{}", "t")
        browser.close()


def test_opens_a_new_connection_after_the_server_closed_one():
    with cookie_server() as (base, connections):
        browser = Browser(base)
        assert browser.request("GET", "/close").text == "bye"
        assert browser.request("GET", "/echo").status_code == 200
        browser.close()
    assert len(connections) == 2


def test_sends_again_on_a_new_connection_when_a_kept_one_was_closed_unannounced():
    with cookie_server() as (base, connections):
        browser = Browser(base)
        assert browser.request("GET", "/hang-up").text == "bye"
        answer = browser.request("POST", "/echo", data={"n": "1"})
        assert json.loads(answer.text)["body"] == "n=1"
        browser.close()
    assert len(connections) == 2
