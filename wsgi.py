"""Production entry point.

    PEERLEARN_ENV=production gunicorn -k gevent -w 1 --bind 127.0.0.1:8000 wsgi:app

One worker per process; scale out with more processes behind nginx and a shared
SOCKETIO_MESSAGE_QUEUE. Browsers open Socket.IO as a WebSocket from the first request, which stays
on the process it reached, so nginx spreads connections without sticky sessions; only the
long-polling fallback needs its requests on one process, which nginx keeps by a per-browser
cookie (docs/operations.md, "nginx").

Gunicorn sets TCP_NODELAY on its TCP listening socket itself (gunicorn.sock.TCPSocket) and
accepted connections inherit it, so Socket.IO frames are not held back by Nagle's algorithm;
tests/test_tcp_nodelay.py checks it. `flask serve` sets it through peerlearn.netopts.
"""

import gc
import os

_production = os.environ.get("PEERLEARN_ENV") == "production"
_async_mode = os.environ.get("SOCKETIO_ASYNC_MODE") or ("gevent" if _production else "threading")
if _async_mode == "gevent":
    from gevent import monkey

    monkey.patch_all()

from peerlearn import create_app  # noqa: E402

app = create_app()

# What starting made (the modules, the app, its routes and models: some 230,000 objects) lives as
# long as the process. A full collection looked at all of it each time, a pause of tens of ms
# every few seconds under load (the live room's p99 showed it); frozen, a collection looks only at
# what came after. Startup's own garbage is collected first, so none of it is kept for good.
gc.collect()
gc.freeze()

# No Redis, so no worker: a server loading this file runs the periodic sweeps in its process.
# Not when the `flask` command found this file (FLASK_APP unset) to load the app: `flask serve`
# starts them itself once the database is set up, and other commands (db upgrade, sweep) run none.
# Flask sets FLASK_RUN_FROM_CLI for every `flask` command before it loads the app.
if app.config["JOBS_INLINE"] and os.environ.get("FLASK_RUN_FROM_CLI") != "true":
    from peerlearn.tasks.periodic import start_embedded

    start_embedded(app)
