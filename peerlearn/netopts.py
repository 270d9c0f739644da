"""TCP_NODELAY on every connection `flask serve` accepts.

Socket.IO writes many small frames. With Nagle's algorithm on, a frame written while an earlier
one is still unacknowledged waits for the peer's delayed ACK (about 40 ms on Linux), so a room
broadcast could take that long to arrive. Gunicorn (the production server, see wsgi.py) sets
TCP_NODELAY on its listening socket itself, and accepted sockets inherit it. socketio.run() binds
its server from (host, port) and takes no ready-made socket, so for `flask serve` each server's
request handler turns the option on for every connection it accepts instead.
"""

import socket


def run_options(async_mode):
    """Keyword arguments for socketio.run() that turn Nagle's algorithm off on each connection."""
    if async_mode == "gevent":
        from gevent.pywsgi import WSGIHandler

        class NoDelayHandler(WSGIHandler):
            def handle(self):
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().handle()

        return {"handler_class": NoDelayHandler}
    if async_mode == "threading":
        from werkzeug.serving import WSGIRequestHandler

        class NoDelayRequestHandler(WSGIRequestHandler):
            disable_nagle_algorithm = True  # socketserver's own switch, applied in setup()

        return {"request_handler": NoDelayRequestHandler}
    # eventlet is not among the app's requirements (requirements.txt): its server is not covered.
    return {}
