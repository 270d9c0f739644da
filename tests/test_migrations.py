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
from tests.support.migrations import migrated_app


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


def test_capabilities_migration_keeps_every_account_able_to_do_what_it_did(tmp_path):
    """0012: role mentor → teaching on since the account was created, admin → admin; back down,
    each account gets its highest capability as its role."""
    from flask_migrate import downgrade

    app = migrated_app(f"sqlite:///{tmp_path / 'roles.sqlite3'}")
    with app.app_context():
        upgrade(revision="0011_trust_money")
        with db.engine.begin() as connection:
            for email, role, created in (
                ("admin@example.com", "admin", "2026-01-01 10:00:00"),
                ("mentor@example.com", "mentor", "2026-02-01 10:00:00"),
                ("learner@example.com", "learner", "2026-03-01 10:00:00"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO users (email, name, password_hash, role, timezone, headline, bio,"
                        " hourly_rate_paise, suspension_reason, created_at, updated_at)"
                        " VALUES (:email, 'X', 'h', :role, 'UTC', '', '', 0, '', :created, :created)"
                    ),
                    {"email": email, "role": role, "created": created},
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT email, teaching_enabled_at, is_admin FROM users ORDER BY id")
            ).all()
        assert [(email, str(at) if at else None, bool(admin)) for email, at, admin in rows] == [
            ("admin@example.com", None, True),
            ("mentor@example.com", "2026-02-01 10:00:00", False),
            ("learner@example.com", None, False),
        ]
        downgrade(revision="0011_trust_money")
        with db.engine.connect() as connection:
            roles = connection.execute(text("SELECT email, role FROM users ORDER BY id")).all()
        assert [tuple(row) for row in roles] == [
            ("admin@example.com", "admin"),
            ("mentor@example.com", "mentor"),
            ("learner@example.com", "learner"),
        ]
        db.engine.dispose()


def test_one_order_migration_keeps_the_newest_order_of_a_booking_awaiting_payment(tmp_path):
    """0013: where concurrent checkouts opened several orders for one booking, the newest still
    awaits payment and the older ones are failed (a late payment of one is still captured)."""
    from datetime import timedelta

    from sqlalchemy.exc import IntegrityError

    from peerlearn.models import Booking, Payment, utcnow
    from tests.factories import UserFactory, make_session

    app = migrated_app(f"sqlite:///{tmp_path / 'orders.sqlite3'}")
    with app.app_context():
        upgrade(revision="0012_capabilities")  # the models' tables, without the index
        # Columns added after 0013, so that the models can write rows here.
        db.session.execute(text("ALTER TABLE users ADD COLUMN credential_epoch INTEGER NOT NULL DEFAULT 0"))
        db.session.execute(text("ALTER TABLE users ADD COLUMN deleted_at DATETIME"))
        db.session.execute(text("ALTER TABLE users ADD COLUMN locale VARCHAR(5)"))
        db.session.execute(
            text("ALTER TABLE learning_sessions ADD COLUMN recording_enabled BOOLEAN NOT NULL DEFAULT 0")
        )
        db.session.execute(text("ALTER TABLE bookings ADD COLUMN moved_at DATETIME"))
        db.session.execute(
            text("ALTER TABLE bookings ADD COLUMN calendar_sequence_offset INTEGER NOT NULL DEFAULT 0")
        )
        mentor, learner = UserFactory(role="mentor"), UserFactory()
        session = make_session(mentor, price_paise=49900)
        held, other = (
            Booking(
                session_id=session.id,
                learner_id=user.id,
                status="pending_payment",
                amount_paise=49900,
                hold_expires_at=utcnow() + timedelta(minutes=15),
            )
            for user in (learner, UserFactory())
        )
        db.session.add_all([held, other])
        db.session.flush()

        def order(booking, number, status="created"):
            return Payment(
                booking_id=booking.id,
                payer_id=booking.learner_id,
                mentor_id=mentor.id,
                gateway="dev",
                order_id=f"order_{number}",
                receipt=f"bk_{number}",
                amount_paise=49900,
                status=status,
            )

        db.session.add_all([order(held, 1), order(held, 2), order(held, 3), order(other, 4, "failed")])
        db.session.add(order(other, 5))
        db.session.commit()
        held_id = held.id
        db.session.remove()
        upgrade(revision="0013_one_order_per_booking")
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT order_id, status, failure_reason != '' FROM payments ORDER BY id")
            ).all()
        assert [tuple(row) for row in rows] == [
            ("order_1", "failed", True),
            ("order_2", "failed", True),
            ("order_3", "created", False),
            ("order_4", "failed", False),
            ("order_5", "created", False),
        ]
        db.session.add(order(db.session.get(Booking, held_id), 6))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def directory_index_columns(url):
    """0016 down to 0015 and up again: the review and session indexes, by name, with their columns."""
    from flask_migrate import downgrade
    from sqlalchemy import inspect

    names = {
        "ix_reviews_mentor_id_created_at",
        "ix_reviews_mentor_id_hidden_at_rating",
        "ix_learning_sessions_status_starts_at",
        "ix_learning_sessions_bookable",
    }

    def indexes():
        inspector = inspect(db.engine)
        return {
            index["name"]: tuple(index["column_names"])
            for table in ("reviews", "learning_sessions")
            for index in inspector.get_indexes(table)
            if index["name"] in names
        }

    app = migrated_app(url)
    with app.app_context():
        upgrade()
        after = indexes()
        downgrade(revision="0015_email_caps")
        before = indexes()
        upgrade()
        again = indexes()
        db.engine.dispose()
    return before, after, again


def check_directory_indexes(url):
    before, after, again = directory_index_columns(url)
    assert before == {
        "ix_reviews_mentor_id_created_at": ("mentor_id", "created_at"),
        "ix_learning_sessions_status_starts_at": ("status", "starts_at"),
    }
    assert (
        after
        == again
        == {
            "ix_reviews_mentor_id_created_at": ("mentor_id", "created_at"),
            "ix_reviews_mentor_id_hidden_at_rating": ("mentor_id", "hidden_at", "rating"),
            "ix_learning_sessions_bookable": ("status", "starts_at", "mentor_id", "seats_taken", "capacity"),
        }
    )


def test_directory_indexes_migration_goes_down_and_up_on_sqlite(tmp_path):
    """0016: the directory's covering indexes come and go, and the catalog keeps an index that
    leads with (status, starts_at) either way."""
    check_directory_indexes(f"sqlite:///{tmp_path / 'indexes.sqlite3'}")


@pytest.mark.postgres
def test_directory_indexes_migration_goes_down_and_up_on_postgres(empty_postgres_url):
    check_directory_indexes(empty_postgres_url)
