"""Command-line tools: `flask serve`, `flask seed-demo`, `flask create-admin`,
`flask emails send-queued`, `flask jobs requeue-failed`, `flask payments reconcile` and `flask sweep`."""

import os

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .demo import DEMO_PASSWORD
from .extensions import db, socketio
from .models import User
from .netopts import run_options
from .tasks import QUEUES


def init_app(app):
    app.cli.add_command(serve)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_admin)
    app.cli.add_command(emails)
    app.cli.add_command(jobs)
    app.cli.add_command(payments_group)
    app.cli.add_command(sweep)


@click.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST or 127.0.0.1")
@click.option(
    "--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int, show_default="PORT or 5000"
)
@click.option(
    "--setup", is_flag=True, help="Upgrade the database and load demo data into an empty one first."
)
@with_appcontext
def serve(host, port, setup):
    """Serve the app with Socket.IO (the embedded mode of `make run`)."""
    app = current_app._get_current_object()
    if setup:
        _prepare_database(app)
    url = f"http://{host}:{port}"
    click.echo("")
    click.secho(f"  PeerLearn is running at {url}", fg="green", bold=True)
    click.echo(
        f"  async mode: {app.config['SOCKETIO_ASYNC_MODE']}, database: {db.engine.url.get_backend_name()}, "
        f"jobs: {'inline' if app.config['JOBS_INLINE'] else 'RQ worker'}, "
        f"email: {app.config['MAIL_BACKEND']}"
    )
    if db.session.scalar(select(func.count(User.id)).where(User.email.like("%@peerlearn.local"))):
        click.echo(f"  Demo accounts (password: {DEMO_PASSWORD}):")
        for email, role in DEMO_ACCOUNTS_SUMMARY:
            click.echo(f"    {role:8} {email}")
    if app.config["DEV_OUTBOX_ENABLED"]:
        click.echo(f"  Emails are written to the log and shown at {url}/dev/outbox")
    click.echo("  Press Ctrl+C to stop.\n")
    db.session.remove()
    # `flask` marks its process as "run from the CLI", which makes app.run() (and so
    # socketio.run()) a no-op meant for `flask run`; this command is the server itself.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    if app.config["JOBS_INLINE"]:
        from .tasks.periodic import start_embedded

        start_embedded(app)
    socketio.run(
        app,
        host=host,
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
        **run_options(app.config["SOCKETIO_ASYNC_MODE"]),
    )


def _prepare_database(app):
    """What `make run` needs before serving, in this one process to keep restarts fast."""
    from flask_migrate import upgrade

    upgrade()
    if app.config["ENV_NAME"] != "production" and not db.session.scalar(select(func.count(User.id))):
        from .demo import load_demo

        created = load_demo()
        click.echo(f"Demo data loaded ({created} accounts).")
    db.session.remove()


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option()
@with_appcontext
def create_admin(email, name, password):
    """Create an administrator (the only way to get the admin role)."""
    from .exceptions import DomainError
    from .services import accounts

    try:
        user = accounts.create_admin(email=email, password=password, name=name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Admin {user.email} created.")


@click.group("emails")
def emails():
    """Outgoing email."""


@emails.command("send-queued")
@with_appcontext
def send_queued():
    """Hand every email still queued (Redis was down, a send failed) to the emails queue."""
    from .tasks.email import dispatch_queued

    count = dispatch_queued()
    click.echo(f"{count} queued email(s) dispatched.")


@click.group("jobs")
def jobs():
    """Background jobs on the RQ queues."""


@jobs.command("requeue-failed")
@click.option(
    "--queue",
    "queue_names",
    multiple=True,
    type=click.Choice(QUEUES),
    help="Only this queue (repeatable); every queue by default.",
)
@with_appcontext
def requeue_failed(queue_names):
    """Put every job in RQ's failed registry back on its queue, to run again."""
    from .tasks import requeue_failed as requeue

    if current_app.config["JOBS_INLINE"]:
        raise click.ClickException("jobs run inline (no REDIS_URL): there is no failed registry")
    count = requeue(queue_names or QUEUES)
    click.echo(f"{count} failed job(s) requeued.")


@click.group("payments")
def payments_group():
    """Payments."""


@payments_group.command("reconcile")
@click.option("--order", "order_id", help="Only this gateway order id.")
@with_appcontext
def reconcile(order_id):
    """Ask the gateway about open orders (a missed webhook) and retry pending refunds."""
    from .models import Payment
    from .services import payments

    if order_id:
        payment = db.session.scalar(select(Payment).where(Payment.order_id == order_id))
        if payment is None:
            raise click.ClickException(f"No payment for order {order_id}.")
        payment = payments.reconcile_payment(payment)
        click.echo(f"Order {order_id}: payment {payment.id} is {payment.status}.")
        return
    checked, sent = payments.reconcile_open_payments()
    click.echo(f"Checked {checked} open order(s); settled {sent} pending refund(s).")


@click.command("sweep")
@with_appcontext
def sweep():
    """Run the periodic jobs once now (expire holds, complete sessions, reconcile, send mail)."""
    from .tasks.periodic import run_all_once

    for name, result in run_all_once().items():
        click.echo(f"{name}: {result}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no users yet.")
@with_appcontext
def seed_demo(if_empty):
    """Load the demo accounts (idempotent; refused in production)."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("seed-demo is refused under the production config.")
    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("Database already has users; demo data not loaded.")
        return
    from .demo import load_demo

    created = load_demo()
    click.echo(f"Demo data loaded ({created} new accounts). Password for all: {DEMO_PASSWORD}")


DEMO_ACCOUNTS_SUMMARY = [
    ("admin@peerlearn.local", "admin"),
    ("mentor1@peerlearn.local", "mentor"),
    ("mentor2@peerlearn.local", "mentor"),
    ("mentor3@peerlearn.local", "mentor"),
    ("learner1@peerlearn.local", "learner"),
    ("learner2@peerlearn.local", "learner"),
    ("learner3@peerlearn.local", "learner"),
    ("learner4@peerlearn.local", "learner"),
    ("learner5@peerlearn.local", "learner"),
]
