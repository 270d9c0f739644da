"""PeerLearn: a self-hostable peer-learning marketplace."""

import logging
import sys
from pathlib import Path

from flask import Flask


def create_app(config_name=None, overrides=None):
    """Build the application. ``config_name`` picks a class in ``peerlearn.config``."""
    from .config import config_for

    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config_for(config_name).load())
    if overrides:
        app.config.update(overrides)

    configure_logging(app)
    configure_proxy(app)
    register_extensions(app)
    register_languages(app)
    register_auth(app)
    register_input_rules(app)
    register_blueprints(app)
    register_sockets(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_static_files(app)
    register_template_helpers(app)
    register_cli(app)
    register_metrics(app)
    register_request_ids(app)  # last: its middleware wraps all the others
    return app


def configure_logging(app):
    """One handler on stdout for every logger: text or JSON lines (LOG_FORMAT), each record with
    its request id (peerlearn.logs); errors to Sentry too when SENTRY_DSN is set."""
    from . import logs

    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_peerlearn", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler.addFilter(logs.RequestIdFilter())
        handler._peerlearn = True
        root.addHandler(handler)
    handler.setFormatter(logs.formatter(app.config["LOG_FORMAT"]))
    logging.getLogger("peerlearn").setLevel(level)
    # Alembic announces its plugins on every command; migrations raise it to INFO themselves.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root.setLevel(min(level, logging.WARNING) if app.testing else level)
    logs.init_sentry(app)


def configure_proxy(app):
    """Trust X-Forwarded-For and -Proto from exactly PROXY_COUNT proxies (client IPs for rate
    limits and the loopback-only outbox, https for Socket.IO's origin check); with none
    configured, the headers are ignored. X-Forwarded-Host never counts: nothing needs the host a
    client names, and links are built on PUBLIC_BASE_URL (peerlearn.links)."""
    count = app.config["PROXY_COUNT"]
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)


def register_extensions(app):
    from .extensions import csrf, db, limiter, login_manager, mail, migrate, socketio
    from .sockets.origin import origin_check

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    # One SocketIO object serves every app built in this process (tests build many); its options
    # accumulate, so drop the queue manager an earlier app made, or an app without a queue would
    # keep publishing to it.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        channel=app.config["SOCKETIO_CHANNEL"],
        # This site's own origin (PUBLIC_BASE_URL) and SOCKETIO_CORS_ORIGINS, never X-Forwarded-Host.
        cors_allowed_origins=origin_check(app),
        # One client's events are handled one after another, in the order sent: a WebRTC offer
        # must reach the peer before its ICE candidates, a lowered hand after the raise.
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            _tune_sqlite(db.engine)
    else:
        from . import dbpool

        with app.app_context():
            dbpool.watch(db.engine)  # a pooled connection the server ended is replaced at checkout
    from .services import outbox, storage

    outbox.init_app(app)  # what a request's transactions recorded is handed on by its end
    from . import subscriptions

    subscriptions.init_app(app)  # what reacts to events and carries committed records
    from . import tasks

    tasks.init_app(app)  # inline jobs a request leaves for after its response
    storage.init_app(app)  # where avatars and covers are kept: UPLOAD_DIR or an S3 bucket


def _tune_sqlite(engine):
    """Foreign keys on, and WAL with a busy timeout so the web process and jobs share the file."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def register_auth(app):
    from . import security

    security.init_app(app)


def register_input_rules(app):
    from . import inputs

    inputs.init_app(app)


def register_blueprints(app):
    from .blueprints.admin import bp as admin_bp
    from .blueprints.api import bp as api_bp
    from .blueprints.auth import bp as auth_bp
    from .blueprints.booking import bp as booking_bp
    from .blueprints.community import bp as community_bp
    from .blueprints.dashboards import bp as dashboards_bp
    from .blueprints.dev import bp as dev_bp
    from .blueprints.main import bp as main_bp
    from .blueprints.notifications import bp as notifications_bp
    from .blueprints.payments import bp as payments_bp
    from .blueprints.pwa import bp as pwa_bp
    from .blueprints.sessions import bp as sessions_bp
    from .blueprints.users import bp as users_bp
    from .blueprints.webhooks import bp as webhooks_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(users_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(dashboards_bp)
    app.register_blueprint(community_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(api_bp, url_prefix="/api")
    app.register_blueprint(webhooks_bp, url_prefix="/settings/webhooks")
    if app.config["DEV_OUTBOX_ENABLED"]:
        app.register_blueprint(dev_bp, url_prefix="/dev")


def register_sockets(app):
    from . import sockets

    sockets.init_app(app)


def register_errorhandlers(app):
    from . import errors

    errors.init_app(app)


def register_security_headers(app):
    from . import headers

    headers.init_app(app)


def register_languages(app):
    """English and Hindi: which one a request speaks and where the Hindi texts are (peerlearn.i18n)."""
    from . import i18n

    i18n.init_app(app)


def register_static_files(app):
    from . import static_files

    static_files.init_app(app)


def register_template_helpers(app):
    from . import jinja

    jinja.init_app(app)


def register_cli(app):
    from . import cli

    cli.init_app(app)


def register_metrics(app):
    from . import metrics

    metrics.init_app(app)


def register_request_ids(app):
    from . import logs

    logs.init_app(app)
