"""Building one user's data export: time, ZIP size and the job's peak Python memory.

    .venv/bin/python bench/your_data_export.py                      # a temporary SQLite file
    .venv/bin/python bench/your_data_export.py --messages 200000 --notifications 50000

A learner with a long history (chat messages in a session's room, notifications) asks for their
data; the job (services.your_data.build_export) writes the ZIP record by record, so its memory
should stay flat as the history grows. Prints the rows exported, the build time, the ZIP's size
(and its JSON uncompressed) and tracemalloc's peak during the build.
"""

import argparse
import sys
import tempfile
import time
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from peerlearn import create_app
from peerlearn.config import Config
from peerlearn.extensions import db
from peerlearn.models import ChatMessage, DataExport, LearningSession, Notification, User, utcnow
from peerlearn.services import storage, your_data


def seed(messages, notifications):
    now = utcnow()
    unusable = "!"  # no password hashes to this
    mentor = User(
        email="mentor@example.com", name="Meera Mentor", password_hash=unusable, teaching_enabled_at=now
    )
    learner = User(email="learner@example.com", name="Lena Learner", password_hash=unusable)
    db.session.add_all([mentor, learner])
    db.session.flush()
    session = LearningSession(
        mentor_id=mentor.id,
        title="A long course",
        description="",
        category="Programming",
        level="all",
        language="English",
        starts_at=now - timedelta(days=30),
        duration_minutes=60,
        capacity=5,
        price_paise=0,
        status="completed",
    )
    db.session.add(session)
    db.session.flush()
    body = "A question about the example on the whiteboard, and a follow-up about its edge cases."
    for start in range(0, messages, 10_000):
        db.session.execute(
            insert(ChatMessage),
            [
                {"session_id": session.id, "user_id": learner.id, "body": f"{body} #{n}", "created_at": now}
                for n in range(start, min(messages, start + 10_000))
            ],
        )
    for start in range(0, notifications, 10_000):
        db.session.execute(
            insert(Notification),
            [
                {
                    "user_id": learner.id,
                    "kind": "session_reminder",
                    "title": f"Starts soon #{n}",
                    "created_at": now,
                }
                for n in range(start, min(notifications, start + 10_000))
            ],
        )
    export = DataExport(user_id=learner.id, status="queued")
    db.session.add(export)
    db.session.commit()
    return export.id


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--notifications", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="peerlearn-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'export.sqlite3'}"
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": Config.engine_options(url),
                "UPLOAD_DIR": str(Path(folder) / "uploads"),
            },
        )
        with app.app_context():
            db.create_all()
            export_id = seed(args.messages, args.notifications)
            started = time.perf_counter()
            export = your_data.build_export(export_id)
            elapsed = time.perf_counter() - started
            # Memory on a second build of the same data: tracemalloc slows what it watches.
            again = DataExport(user_id=export.user_id, status="queued")
            db.session.add(again)
            db.session.commit()
            tracemalloc.start()
            your_data.build_export(again.id)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            path = storage.get_storage().path(export.storage_key)
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
            print(f"rows exported: {args.messages:,} chat messages, {args.notifications:,} notifications")
            print(f"build time:    {elapsed:.2f} s")
            print(
                f"ZIP:           {export.size_bytes / 1e6:.1f} MB ({unpacked / 1e6:.1f} MB of JSON unpacked)"
            )
            print(f"peak memory:   {peak / 1e6:.1f} MB (tracemalloc, during the build)")


if __name__ == "__main__":
    main()
