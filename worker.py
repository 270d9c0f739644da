"""RQ worker: builds the app once, pushes one app context, and listens on the named queues.

python worker.py                  # emails, recommendations, default
python worker.py emails           # only the emails queue
"""

import sys

from rq import Worker

from peerlearn import create_app
from peerlearn.tasks import QUEUES, get_queue, redis_connection


def main(argv):
    app = create_app()
    if not app.config["REDIS_URL"]:
        sys.exit("worker.py needs REDIS_URL; without it jobs already run inline in the web process.")
    names = argv or list(QUEUES)
    with app.app_context():
        queues = [get_queue(name) for name in names]
        worker = Worker(queues, connection=redis_connection())
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
