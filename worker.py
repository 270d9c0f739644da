"""RQ worker: builds the app once, pushes one app context and listens on the named queues.

python worker.py                  # emails, recommendations, default, recordings
python worker.py emails           # only the emails queue
python worker.py --fork default   # fork a work-horse per job (RQ's default) instead
python worker.py cron             # the scheduler that enqueues periodic jobs (run one)

Jobs run in the worker process, each in its own app context; ``--fork`` isolates each job in a
forked process at the cost of a fork and a database connection per job.

Both keep running through a Redis outage: they log it, ask Redis again with a growing pause and
carry on when it answers (peerlearn.tasks.worker), without waiting for a supervisor's restart.
"""

import sys

from peerlearn import create_app
from peerlearn.tasks import QUEUES, get_queue, redis_connection
from peerlearn.tasks.periodic import register_cron
from peerlearn.tasks.worker import AppWorker, CronScheduler, ForkingAppWorker, work_until_stopped


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
        work_until_stopped(lambda: worker_class(queues, connection=redis_connection()), redis_connection())


if __name__ == "__main__":
    main(sys.argv[1:])
