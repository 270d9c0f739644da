"""Migrations: one head, and `flask db upgrade` on an empty database gives exactly the models."""

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from peerlearn import create_app
from peerlearn.config import normalise_database_url
from peerlearn.extensions import db
from tests.conftest import unavailable


def migrated_app(url):
    return create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SQLALCHEMY_ENGINE_OPTIONS": {}}
    )


def assert_upgrade_matches_models(url):
    app = migrated_app(url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"


def test_single_head():
    app = create_app("testing")
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_on_empty_sqlite_matches_models(tmp_path):
    assert_upgrade_matches_models(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


@pytest.fixture
def empty_postgres_url():
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        unavailable("set TEST_DATABASE_URL=postgresql://… to check migrations on PostgreSQL")
    name = f"peerlearn_migr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable(f"cannot create a scratch PostgreSQL database: {exc}")
    yield make_url(normalise_database_url(base)).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_upgrade_on_empty_postgres_matches_models(empty_postgres_url):
    assert_upgrade_matches_models(empty_postgres_url)
