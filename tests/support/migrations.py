"""An app on a database of its own, for tests that run the Alembic migrations against it."""

from peerlearn import create_app
from peerlearn.config import normalise_database_url


def migrated_app(url):
    return create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SQLALCHEMY_ENGINE_OPTIONS": {}}
    )
