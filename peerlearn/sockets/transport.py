"""A browser that leaves a page while its socket connects is an expected event, not a server error.

A page left (or a tab closed, or a phone losing its network) in the middle of the Socket.IO
handshake drops its TCP connection while Engine.IO is still talking on it. Two places then fail:

- the polling POST whose body never fully arrives: Engine.IO reads it, gets a reset, and logs
  "post request handler error" with a traceback before answering 400 to nobody;
- the WebSocket upgrade whose client is gone before the server answers its probe: Engine.IO's
  simple-websocket wrapper turns the closed connection into a bare ``OSError``, which neither
  Werkzeug (threading mode) nor gunicorn recognises as a dropped client, so both log a traceback
  (Werkzeug also an access line with status 500);
- an upgrade request cut off in its headers: Werkzeug serves what arrived, and Engine.IO, seeing
  no Upgrade header, logs "Invalid transport" as an ERROR.

This middleware, around the Socket.IO endpoint only, reads a polling request's body before
Engine.IO does, and turns a bare ``OSError`` raised from a request into ``ConnectionResetError``,
the exception both servers treat as a client that went away (Werkzeug logs nothing, gunicorn one
DEBUG line); an upgrade request without its Upgrade header from a client already gone is dropped
the same way. What is left in our log is one INFO line per dropped handshake.
"""

import errno
import io
import logging
import socket

log = logging.getLogger(__name__)


class ClientLeft(ConnectionResetError):
    """The client closed its connection before the server could answer."""

    def __init__(self, reason):
        super().__init__(errno.ECONNRESET, reason)


class QuietDisconnects:
    """WSGI middleware for ``path`` (the Socket.IO endpoint, "/socket.io/"); other requests pass
    through untouched. ``max_body`` is Engine.IO's own limit: a larger body is left for Engine.IO
    to refuse without reading it."""

    def __init__(self, wsgi_app, path, max_body):
        self.wsgi_app = wsgi_app
        self.path = path
        self.max_body = max_body

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.path):
            return self.wsgi_app(environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            self._read_body_first(environ)
        elif _cut_off_upgrade(environ):
            self._left(environ, "while asking for the WebSocket upgrade")
            raise ClientLeft("the client left while asking for the WebSocket upgrade")
        try:
            return self.wsgi_app(environ, start_response)
        except ConnectionError:
            raise  # already what the servers take for a dropped client (and how a WebSocket ends)
        except OSError as exc:
            if type(exc) is not OSError:  # a real fault of this machine (disk, file, ...)
                raise
            self._left(environ, "during the WebSocket upgrade")
            raise ClientLeft("the client left during the WebSocket upgrade") from None

    def _read_body_first(self, environ):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return  # Engine.IO answers the malformed request itself
        if length <= 0 or length > self.max_body:
            return
        try:
            body = environ["wsgi.input"].read(length)
        except ConnectionError:
            body = b""
        if len(body) < length:
            self._left(environ, "while sending a message")
            raise ClientLeft("the client left while sending a Socket.IO message")
        environ["wsgi.input"] = io.BytesIO(body)

    @staticmethod
    def _left(environ, when):
        log.info(
            "socket client %s left %s (%s %s)",
            environ.get("REMOTE_ADDR", "?"),
            when,
            environ.get("REQUEST_METHOD"),
            environ.get("QUERY_STRING", "")[:200],
        )


def _cut_off_upgrade(environ):
    """A WebSocket request without its Upgrade header whose client has closed the connection:
    the headers were cut off when it left (Werkzeug's server serves what arrived)."""
    if "transport=websocket" not in environ.get("QUERY_STRING", "") or environ.get("HTTP_UPGRADE"):
        return False
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # still connected, nothing more sent: Engine.IO answers the bad request
    except OSError:
        return True


def init_app(app):
    """Wrap the app's WSGI callable, outside the Socket.IO middleware Flask-SocketIO installed."""
    from ..extensions import socketio

    path = getattr(app.wsgi_app, "engineio_path", "/socket.io/")
    app.wsgi_app = QuietDisconnects(app.wsgi_app, path, socketio.server.eio.max_http_buffer_size)
