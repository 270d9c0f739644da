"""Command-line tools: `flask serve`, `flask seed-demo`, `flask create-admin`,
`flask emails send-queued`, `flask jobs requeue-failed`, `flask payments reconcile`,
`flask rotate-payout-key`, `flask sweep`, `flask ml` (rebuild, simulate, evaluate) and
`flask backup` (create, list, restore), `flask doctor` and `flask vapid-keys`."""

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .config import env_str, served_url
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
    app.cli.add_command(rotate_payout_key)
    app.cli.add_command(sweep)
    app.cli.add_command(ml)
    app.cli.add_command(janus_config)
    app.cli.add_command(backup)
    app.cli.add_command(doctor)
    app.cli.add_command(vapid_keys)


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
    media = _start_media(app, install=setup)
    url = f"http://{host}:{port}"
    if not env_str("PUBLIC_BASE_URL"):
        # Links (emails, the calendar feed) point where this server listens: the config could
        # only assume HOST and PORT, and must never take the host a request names.
        app.config["PUBLIC_BASE_URL"] = served_url(host, port)
    click.echo("")
    click.secho(f"  PeerLearn is running at {url}", fg="green", bold=True)
    click.echo(
        f"  async mode: {app.config['SOCKETIO_ASYNC_MODE']}, database: {db.engine.url.get_backend_name()}, "
        f"jobs: {'inline' if app.config['JOBS_INLINE'] else 'RQ worker'}, "
        f"email: {app.config['MAIL_BACKEND']}"
    )
    click.echo(f"  room video: {media}")
    click.echo(f"  links in emails: {app.config['PUBLIC_BASE_URL']} (PUBLIC_BASE_URL)")
    if db.session.scalar(select(func.count(User.id)).where(User.email.like("%@peerlearn.local"))):
        click.echo(f"  Demo accounts (password: {DEMO_PASSWORD}):")
        for email, can in DEMO_ACCOUNTS_SUMMARY:
            click.echo(f"    {email:26} {can}")
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
    _run_server(app, host, port)


def _run_server(app, host, port):
    """Serve until Ctrl+C. The threading mode (the embedded default) runs Werkzeug's threaded
    server as it is, without app.run()'s start-up lines: their warning that this is a
    development server (and Flask-SocketIO's, when stdin is not a terminal) is for `flask run`,
    while this server is the embedded mode by design and the banner above says what it is."""
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    if mode == "threading":
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True, **run_options(mode))
        server.serve_forever()  # Werkzeug's: returns on Ctrl+C and closes the socket
        return
    socketio.run(
        app,
        host=host,
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
        **run_options(mode),
    )


def _start_media(app, *, install):
    """Run a local Janus for group rooms when this app should have one (not configured elsewhere,
    not opted out with ROOM_MEDIA=mesh); with ``install``, install it first where we may.
    Returns a line describing the room's media for the start-up banner."""
    from .media import embedded

    config = app.config
    if config["ROOM_MEDIA"] == "mesh":
        return f"browser to browser, up to {config['MESH_MAX_CAMERAS']} cameras (ROOM_MEDIA=mesh)"
    if config["JANUS_INSTANCES"]:
        names = ", ".join(item["name"] for item in config["JANUS_INSTANCES"])
        return f"Janus ({names})"
    if install and embedded.find_binary(config.get("JANUS_BINARY")) is None:
        embedded.install(echo=click.echo)
    local = embedded.start_local_janus(app, echo=click.echo)
    if local is not None:
        return f"Janus on this machine ({local.instance.api}, logs in {local.folder / 'janus.log'})"
    if config["ROOM_MEDIA"] == "janus":
        raise click.ClickException("ROOM_MEDIA=janus, but Janus is not installed (apt-get install janus).")
    return (
        f"browser to browser, up to {config['MESH_MAX_CAMERAS']} cameras "
        "(install the Debian package janus for group rooms)"
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


@click.command("rotate-payout-key")
@with_appcontext
def rotate_payout_key():
    """Re-encrypt every mentor's payout details (and the copies kept on payouts) with the first
    key of PAYOUT_DETAILS_KEYS. Safe to run again; then the old keys can be dropped."""
    from .services.payout_accounts import rotate_all

    counts = rotate_all()
    unreadable = 0
    for name, label in (("accounts", "payout details"), ("payouts", "payouts")):
        rotated, current, bad = counts[name]
        unreadable += bad
        click.echo(
            f"{label}: {rotated} re-encrypted, {current} already under the current key, {bad} unreadable"
        )
    if unreadable:
        raise click.ClickException(
            f"{unreadable} record(s) could not be decrypted with any key in PAYOUT_DETAILS_KEYS; "
            "add the key they were written with and run this again."
        )


@click.command("vapid-keys")
def vapid_keys():
    """Print a fresh VAPID key pair for Web Push, as VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY take
    it. A new pair means browsers subscribed with the old one must subscribe again."""
    from .config import new_vapid_keys

    public, private = new_vapid_keys()
    click.echo(f"VAPID_PUBLIC_KEY={public}")
    click.echo(f"VAPID_PRIVATE_KEY={private}")


@click.command("sweep")
@with_appcontext
def sweep():
    """Run the periodic jobs once now (expire holds, complete sessions, reconcile, send mail)."""
    from .tasks.periodic import run_all_once

    for name, result in run_all_once().items():
        click.echo(f"{name}: {result}")


@click.group("ml")
def ml():
    """Recommendations: rebuild them, simulate a platform, evaluate the models."""


class _StageBar:
    """A progress bar over the rebuild's stages; ranking learners fills most of it."""

    RANKING = (15, 90)  # the share of the bar the ranking of learners covers

    def __init__(self, bar):
        self.bar = bar
        self.position = 0

    def __call__(self, label, done=None, total=None):
        if done is not None and total:
            low, high = self.RANKING
            target = low + (high - low) * done // total
        else:
            target = {"storing": 95, "similar sessions": 90}.get(label, min(self.position + 2, 14))
        self.bar.label = label.ljust(28)
        self.bar.update(max(0, target - self.position))
        self.position = max(self.position, target)


@ml.command("rebuild")
@with_appcontext
def ml_rebuild():
    """Rebuild every learner's recommendations, similar sessions and trending now."""
    from .services import recommendations

    with click.progressbar(length=100, label="loading".ljust(28), show_eta=False) as bar:
        progress = _StageBar(bar)
        summary = recommendations.rebuild(progress=progress)
        bar.update(100 - progress.position)
    click.echo(
        f"Version {summary['version']}: {summary['learners']} users, {summary['mentors']} mentors, "
        f"{summary['sessions']} sessions ({summary['open_sessions']} open), "
        f"{summary['interactions']} interactions, in {summary['total_seconds']} s."
    )


@ml.command("simulate")
@click.option("--learners", default=2000, show_default=True)
@click.option("--mentors", default=300, show_default=True)
@click.option("--sessions", default=2000, show_default=True)
@click.option("--months", default=6, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option("--replace", is_flag=True, help="Delete an earlier simulated platform first.")
@with_appcontext
def ml_simulate(learners, mentors, sessions, months, seed, replace):
    """Write a simulated platform (accounts @sim.peerlearn.test) into the database."""
    from .ml.simulate import SimulationConfig, simulate
    from .services.simulated_platform import write_to_database

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("simulate is refused under the production config.")
    config = SimulationConfig(learners=learners, mentors=mentors, sessions=sessions, months=months, seed=seed)
    platform = simulate(config)
    click.echo(
        f"Simulated {platform.n_users} users, {platform.n_sessions} sessions, "
        f"{platform.n_interactions} interactions."
    )
    with click.progressbar(length=100, label="writing".ljust(16), show_eta=False) as bar:
        position = [0]

        def progress(label, done=None, total=None):
            bar.label = label.ljust(16)
            if done is not None and total:
                target = 100 * done // total
                bar.update(max(0, target - position[0]))
                position[0] = max(position[0], target)

        try:
            counts = write_to_database(platform, progress=progress, replace=replace)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Written: {counts}. Run 'flask ml rebuild' to recommend on it.")


@ml.command("evaluate")
@click.option("--platform/--no-platform", "on_platform", default=True, help="The platform's own log.")
@click.option("--simulated/--no-simulated", default=True, help="A simulated platform (default size).")
@click.option("--movielens/--no-movielens", default=True, help="MovieLens-100k (fetches the recbole wheel).")
@click.option("--tune", is_flag=True, help="Search the hybrid's weights on the simulated validation weeks.")
@with_appcontext
def ml_evaluate(on_platform, simulated, movielens, tune):
    """Precision, recall and NDCG at 10, coverage and diversity of every model."""
    from .ml import evaluate

    if on_platform:
        from .services.recommendations import platform_split

        split = platform_split()
        if split is None or not split[1].nnz:
            click.echo("Platform log: no bookings in the last two weeks' split to evaluate on.\n")
        else:
            click.echo(
                evaluate.format_table(evaluate.compare(*split), "Platform log, temporal split (2 weeks)")
            )
            click.echo()
    if simulated:
        results = evaluate.compare(*evaluate.simulated_split())
        click.echo(evaluate.format_table(results, "Simulated platform, temporal split (2 weeks)"))
        ratio = results["hybrid"]["ndcg"] / max(results["popularity"]["ndcg"], 1e-9)
        click.echo(f"hybrid NDCG@10 = {ratio:.2f} x popularity's\n")
        if tune:
            best = evaluate.tune(*evaluate.simulated_split(validation=True))[:5]
            click.echo("Best mixes on the validation weeks (NDCG@10):")
            for ndcg, weights in best:
                click.echo(
                    f"  {ndcg:.4f}  collaborative={weights.collaborative} content={weights.content} "
                    f"skills={weights.skills} popularity={weights.popularity} "
                    f"mentor_share={weights.mentor_share}"
                )
            click.echo()
    if movielens:
        from .ml import movielens as ml100k

        try:
            wheel = ml100k.fetch_wheel(ml100k.default_cache_dir())
        except ml100k.FetchError as exc:
            raise click.ClickException(f"MovieLens-100k unavailable: {exc}") from exc
        data = ml100k.load(wheel)
        train, test = ml100k.split(data)
        genres = ml100k.item_genres(wheel, data.item_ids)
        results = ml100k.evaluate(train, test, item_features=genres[0] if genres else None)
        for figures in results.values():
            figures.setdefault("diversity", float("nan"))
            figures["users"] = int((test.getnnz(axis=1) > 0).sum())
        click.echo(
            evaluate.format_table(results, "MovieLens-100k, per-user random 75/25 split, all unseen items")
        )


@click.command("janus-config")
@click.option("--out", "folder", required=True, type=click.Path(file_okay=False), help="Folder to write to.")
@click.option("--public-ip", help="The address browsers reach this Janus at, if it is behind NAT.")
@click.option("--ice-enforce", help="Interfaces or addresses Janus may use for ICE (e.g. eth0).")
@click.option("--rtp-ports", default="40000-40999", show_default=True, help="UDP ports for media.")
@click.option("--http-port", default=8088, show_default=True)
@click.option("--admin-port", default=7088, show_default=True)
@click.option("--ws-port", default=8188, show_default=True)
@with_appcontext
def janus_config(folder, public_ip, ice_enforce, rtp_ports, http_port, admin_port, ws_port):
    """Write a Janus configuration that matches this install's settings: the HTTP, admin and
    WebSocket APIs on 127.0.0.1 only (nginx proxies the WebSocket), only the VideoRoom plugin,
    signed tokens with JANUS_TOKEN_SECRET, the admin secret and the VideoRoom admin key."""
    from pathlib import Path

    from .media.embedded import library_dir, render_config

    config = current_app.config
    names = ("JANUS_TOKEN_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ADMIN_KEY")
    missing = [name for name in names if not config[name]]
    if missing:
        raise click.ClickException(f"set {', '.join(missing)} first (the same values the app uses)")
    library = library_dir()
    if library is None:
        raise click.ClickException("Janus's plugins were not found: apt-get install janus")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    files = render_config(
        target.resolve(),
        library,
        http_port=http_port,
        admin_port=admin_port,
        ws_port=ws_port,
        token_secret=config["JANUS_TOKEN_SECRET"],
        admin_secret=config["JANUS_ADMIN_SECRET"],
        admin_key=config["JANUS_ADMIN_KEY"],
        ice_enforce_list=ice_enforce,
        rtp_port_range=rtp_ports,
        nat_1_1_mapping=public_ip,
    )
    for name, text in files.items():
        path = target / name
        path.write_text(text)
        path.chmod(0o640)
    click.echo(f"Wrote {', '.join(sorted(files))} to {target}.")
    click.echo(f"Start it with: janus -C {target.resolve() / 'janus.jcfg'} -F {target.resolve()}")


@click.group("backup")
def backup():
    """Backups: the database and stored files in one archive, and the way back."""


def _size(count):
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return None


@backup.command("create")
@click.option("--to", "folder", type=click.Path(file_okay=False), help="Folder to write to (BACKUP_DIR).")
@click.option("--keep", type=click.IntRange(min=1), help="Archives to keep in it (BACKUP_KEEP).")
@click.option(
    "--max-age-days",
    type=click.IntRange(min=1),
    help="Remove archives older than this (BACKUP_MAX_AGE_DAYS).",
)
@with_appcontext
def backup_create(folder, keep, max_age_days):
    """Write the database, every uploaded file and a manifest into one archive, then remove
    archives beyond the retention (never the new one)."""
    from .services.backup import BackupError, create_backup
    from .services.storage import backup_note

    try:
        made = create_backup(folder, keep=keep, max_age_days=max_age_days)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = made.manifest
    database = manifest["database"]
    dump = next(entry for entry in manifest["files"] if entry["path"] == database["file"])
    click.echo(f"Backup written: {made.path} ({_size(made.size)})")
    click.echo(
        f"  database: {database['kind']}, revision {database['alembic_revision'] or 'none'}, "
        f"{len(database['table_counts'])} tables, {sum(database['table_counts'].values())} rows, "
        f"dump {_size(dump['size'])}"
    )
    for name, folder_summary in manifest["folders"].items():
        click.echo(
            f"  {name}: {folder_summary['files']} files, {_size(folder_summary['bytes'])} "
            f"({folder_summary['path']})"
        )
    if note := backup_note():
        click.echo(note)
    for path in made.removed:
        click.echo(f"Removed old backup {path.name}")


@backup.command("list")
@click.option("--in", "folder", type=click.Path(file_okay=False), help="Folder to list (BACKUP_DIR).")
@with_appcontext
def backup_list(folder):
    """The archives in the backup folder, newest first: date, size and database revision."""
    from .services.backup import list_backups

    listed = list_backups(folder)
    if not listed:
        click.echo("No backups.")
        return
    for item in listed:
        if item.manifest is None:
            detail = f"unreadable: {item.problem}"
        else:
            database = item.manifest["database"]
            detail = f"{database['kind']}, revision {database['alembic_revision'] or 'none'}"
        click.echo(
            f"{item.path.name}  {item.created_at:%Y-%m-%d %H:%M:%S} UTC  {_size(item.size):>10}  {detail}"
        )


@backup.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def backup_restore(archive, yes):
    """Restore ARCHIVE into this app's database and upload folder, both empty: its checksums
    are verified first, its row counts and revision compared afterwards."""
    from .services import backup as backups

    try:
        manifest = backups.read_manifest(archive)
        backups.check_target(manifest)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    for warning in backups.shared_services_warnings(manifest):
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    database = manifest["database"]
    click.echo(
        f"Backup of {manifest['created_at']}: {database['kind']}, revision "
        f"{database['alembic_revision'] or 'none'}, {sum(database['table_counts'].values())} rows, "
        f"{len(manifest['files']) - 1} files."
    )
    if not yes:
        click.confirm(f"Restore it into {db.engine.url.render_as_string(hide_password=True)}?", abort=True)
    try:
        summary = backups.restore_backup(archive)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Restored {sum(summary.counts.values())} rows in {len(summary.counts)} tables, revision "
        f"{summary.revision or 'none'}."
    )
    for name, count in summary.files.items():
        click.echo(f"Restored {count} files into {name} ({backups.stored_folders()[name]}).")
    if summary.mismatches:
        raise click.ClickException(
            "the restored database differs from the backup's manifest: " + "; ".join(summary.mismatches)
        )
    click.echo("Row counts and revision match the manifest.")
    if summary.revision and summary.code_heads and summary.revision not in summary.code_heads:
        click.echo(f"This code's migrations are at {', '.join(summary.code_heads)}: run `flask db upgrade`.")


@click.command("doctor")
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An env file to check for comments after values (default: the one given to flask "
    "--env-file, else /etc/peerlearn/peerlearn.env or .env when present).",
)
@click.option("--tls-cert", help="The TLS certificate (default: TLS_CERT_FILE, else the nginx site's).")
@click.option("--tls-key", help="Its private key (default: TLS_KEY_FILE, else the nginx site's).")
@click.option(
    "--nginx-site",
    default=lambda: os.environ.get("NGINX_SITE", "/etc/nginx/sites-enabled/peerlearn.conf"),
    show_default="NGINX_SITE or /etc/nginx/sites-enabled/peerlearn.conf",
    help="The nginx site in front of the app, for PROXY_COUNT and the certificate.",
)
@with_appcontext
def doctor(env_files, tls_cert, tls_key, nginx_site):
    """Check this install: folders, addresses, secrets, database, Redis, Janus, TLS, env file.
    Prints ok, warn or fail for each, with a fix; the exit status is 1 when any fails."""
    from pathlib import Path

    from .services import preflight

    if not env_files:
        given = _flask_env_file(sys.argv)
        defaults = [preflight.SYSTEM_ENV_FILE, ".env"]
        env_files = [given] if given else [p for p in defaults if Path(p).is_file()][:1]
    checks = preflight.run_checks(
        env_files=env_files, tls_cert=tls_cert, tls_key=tls_key, nginx_site=nginx_site
    )
    colours = {preflight.OK: "green", preflight.WARN: "yellow", preflight.FAIL: "red"}
    for check in checks:
        status = click.style(f"{check.status:4}", fg=colours[check.status], bold=True)
        click.echo(f"{status}  {check.name}: {check.detail}")
        if check.fix and check.status != preflight.OK:
            click.echo(f"      fix: {check.fix}")
    failed = sum(check.status == preflight.FAIL for check in checks)
    warned = sum(check.status == preflight.WARN for check in checks)
    click.echo(f"\n{len(checks)} checks: {failed} failed, {warned} warnings.")
    if failed:
        raise SystemExit(1)


def _flask_env_file(argv):
    """The file given to `flask --env-file` (or -e) before the command: Flask loads it and keeps
    no record of its name."""
    for index, arg in enumerate(argv[1:], start=1):
        if arg == "doctor":
            break
        if arg in {"--env-file", "-e"} and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--env-file="):
            return arg.partition("=")[2]
    return None


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


# What each demo account can do: every account learns; mentors teach as well.
DEMO_ACCOUNTS_SUMMARY = [
    ("admin@peerlearn.local", "admin"),
    ("mentor1@peerlearn.local", "learns and teaches"),
    ("mentor2@peerlearn.local", "learns and teaches"),
    ("mentor3@peerlearn.local", "learns and teaches"),
    ("learner1@peerlearn.local", "learns"),
    ("learner2@peerlearn.local", "learns"),
    ("learner3@peerlearn.local", "learns"),
    ("learner4@peerlearn.local", "learns"),
    ("learner5@peerlearn.local", "learns"),
]
