"""The page's socket opens as a WebSocket from its first request, so a connection never needs two
requests to reach the same process (no sticky sessions); HTTP long-polling is only the fallback
for a WebSocket that cannot open."""

from urllib.parse import parse_qs, urlsplit

from .support import log_in, wait_for_socket

ENGINE_TRANSPORT = "() => window.peerlearn.socket.io.engine.transport.name"


def socket_requests(urls):
    return [parse_qs(urlsplit(url).query) for url in urls if urlsplit(url).path.startswith("/socket.io/")]


def test_the_socket_connects_over_websocket_from_the_start(page, page_guard):
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    log_in(page, "learner5@peerlearn.local")
    wait_for_socket(page)

    assert page.evaluate(ENGINE_TRANSPORT) == "websocket"
    # No long-polling request at all: not a handshake, not a poll before an upgrade.
    assert socket_requests(page_guard.requests) == []
    opened = socket_requests(sockets)
    assert opened, "the page opened no WebSocket"
    first = opened[0]
    assert first["transport"] == ["websocket"]
    # A fresh connection, not the upgrade of a polling session (which would carry its sid).
    assert "sid" not in first


# As a proxy that passes no upgrades: the page's WebSockets to /socket.io/ fail to connect (to a
# port where nothing listens, on the test's private network), the others are left alone.
REFUSE_SOCKET_IO_WEBSOCKETS = """(() => {
  const Real = window.WebSocket;
  window.peerlearnRefusedSockets = [];
  function Refusing(url, protocols) {
    if (!String(url).includes('/socket.io/')) return new Real(url, protocols);
    window.peerlearnRefusedSockets.push(String(url));
    return new Real('ws://127.0.0.1:9/refused', protocols);
  }
  Refusing.prototype = Real.prototype;
  Object.assign(Refusing, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = Refusing;
})();"""


def test_polling_is_the_fallback_when_the_websocket_cannot_open(page, page_guard):
    page.add_init_script(REFUSE_SOCKET_IO_WEBSOCKETS)
    log_in(page, "learner5@peerlearn.local")
    wait_for_socket(page)

    refused = socket_requests(page.evaluate("() => window.peerlearnRefusedSockets"))
    assert refused and refused[0]["transport"] == ["websocket"], "the WebSocket was not tried first"
    assert page.evaluate(ENGINE_TRANSPORT) == "polling"
    polls = socket_requests(page_guard.requests)
    assert polls and all(query["transport"] == ["polling"] for query in polls)
    assert "sid" not in polls[0]  # a polling handshake of its own, after the WebSocket failed
    # Chromium reports the refused WebSocket on the console; that is what this test does.
    page_guard.console_errors[:] = [
        (text, where) for text, where in page_guard.console_errors if "127.0.0.1:9/refused" not in text
    ]
