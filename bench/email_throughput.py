"""Email throughput: how many emails per second one `python worker.py emails` sends to an SMTP
server on loopback.

    .venv/bin/python bench/email_throughput.py [--emails 500] [--database-url sqlite:///...] [--fork]

Starts a throwaway redis-server on a free port (no persistence), an SMTP server on loopback that
accepts everything, and a SQLite file database (or the database given; its tables must exist).
Records ``--emails`` queued emails, enqueues one `send_email` job for each, then starts one worker
process and waits until every email is sent. Prints the rate from worker start to the last send
(start-up included) and the steady rate between the first and the last send.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from peerlearn import create_app  # noqa: E402
from peerlearn.extensions import db  # noqa: E402
from peerlearn.models import OutboundEmail  # noqa: E402
from peerlearn.tasks import enqueue  # noqa: E402
from peerlearn.tasks.email import send_email  # noqa: E402
from tests.conftest import free_port  # noqa: E402


class CountingInbox:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.count += 1
        return "250 OK"


def start_redis(port):
    process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607 - a Debian-installed program found on PATH
        stdout=subprocess.DEVNULL,
    )
    from redis import Redis

    client = Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return process
        except Exception:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--emails", type=int, default=500)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    parser.add_argument(
        "--fork", action="store_true", help="run `worker.py --fork emails` (a process per job)"
    )
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed")

    workdir = Path(tempfile.mkdtemp(prefix="peerlearn-mailbench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis_process = start_redis(redis_port)
    inbox = CountingInbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    worker = None
    app = create_app(
        "development",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": str(workdir),
            "REDIS_URL": redis_url,
            "JOBS_INLINE": False,
        },
    )
    try:
        with app.app_context():
            if not args.database_url:
                db.create_all()
            rows = [
                OutboundEmail(
                    to_address=f"reader{i}@example.com",
                    subject=f"Bench {i}",
                    template="notice",
                    text_body="A short notice.\n" * 20,
                    html_body="<p>A short notice.</p>" * 20,
                )
                for i in range(args.emails)
            ]
            db.session.add_all(rows)
            db.session.commit()
            ids = [row.id for row in rows]
            for email_id in ids:
                enqueue("emails", send_email, email_id, job_id=f"email-{email_id}")

            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("PEERLEARN_", "REDIS", "DATABASE", "SOCKETIO", "FLASK", "MAIL"))
            }
            env.update(
                PEERLEARN_ENV="development",
                PEERLEARN_INSTANCE_DIR=str(workdir),
                DATABASE_URL=database_url,
                REDIS_URL=redis_url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=str(smtp.port),
                LOG_LEVEL="WARNING",
            )
            started = time.perf_counter()
            worker = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
                [sys.executable, "worker.py", *(["--fork"] if args.fork else []), "emails"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            pending = select(func.count()).where(OutboundEmail.id.in_(ids), OutboundEmail.status != "sent")
            while db.session.scalar(pending):
                db.session.rollback()
                if worker.poll() is not None:
                    raise SystemExit("the worker exited early")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            first, last = db.session.execute(
                select(func.min(OutboundEmail.sent_at), func.max(OutboundEmail.sent_at)).where(
                    OutboundEmail.id.in_(ids)
                )
            ).one()
            steady = (last - first).total_seconds()
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            worker.wait(30)
        smtp.stop()
        redis_process.terminate()
        redis_process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)

    command = f"python worker.py {'--fork ' if args.fork else ''}emails"
    print(f"database: {database_url.split('://')[0]}; one worker (`{command}`), SMTP on loopback")
    print(f"emails sent: {len(ids)} (SMTP server accepted {inbox.count})")
    print(f"worker start to last send: {elapsed:.2f} s -> {len(ids) / elapsed:.1f} emails/s")
    if steady > 0:
        print(f"first send to last send:   {steady:.2f} s -> {(len(ids) - 1) / steady:.1f} emails/s")


if __name__ == "__main__":
    main()
