"""Two apps on one database file whose caches share a Redis: two web processes of one
deployment, in one test process."""

from contextlib import contextmanager

from peerlearn import create_app
from peerlearn.extensions import db


@contextmanager
def two_apps_sharing_redis(tmp_path, redis_url):
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    apps = [
        create_app(
            "testing",
            {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "UPLOAD_DIR": str(tmp_path / "up")},
        )
        for _ in range(2)
    ]
    with apps[0].app_context():
        db.create_all()
        yield apps
        db.session.remove()
        db.engine.dispose()
    with apps[1].app_context():
        db.engine.dispose()
