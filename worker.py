"""RQ worker: builds the app once, pushes one app context and listens on the named queues.

python worker.py                  # emails, recommendations, default
python worker.py emails           # only the emails queue
python worker.py --fork default   # fork a work-horse per job (RQ's default) instead
python worker.py cron             # the scheduler that enqueues periodic jobs (run one)

Jobs run in the worker process, each in its own app context; ``--fork`` isolates each job in a
forked process at the cost of a fork and a database connection per job.
"""

import sys

from rq.cron import CronScheduler

from peerlearn import create_app
from peerlearn.tasks import QUEUES, get_queue, redis_connection
from peerlearn.tasks.periodic import register_cron
from peerlearn.tasks.worker import AppWorker, ForkingAppWorker


def main(argv):
    fork = "--fork" in argv
    argv = [arg for arg in argv if arg != "--fork"]
    app = create_app()
    if not app.config["REDIS_URL"]:
        sys.exit("worker.py needs REDIS_URL; without it jobs already run inline in the web process.")
    with app.app_context():
        if argv == ["cron"]:
            register_cron(CronScheduler(connection=redis_connection(), name="peerlearn-cron")).start()
            return
        unknown = [name for name in argv if name not in QUEUES]
        if unknown:
            sys.exit(f"unknown queue(s) {', '.join(unknown)}; choose from {', '.join(QUEUES)} or 'cron'")
        queues = [get_queue(name) for name in argv or QUEUES]
        worker_class = ForkingAppWorker if fork else AppWorker
        worker_class(queues, connection=redis_connection()).work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
