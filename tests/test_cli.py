"""Command-line tools: demo data and admins."""

from sqlalchemy import func, select

from peerlearn.extensions import db
from peerlearn.models import User


def test_seed_demo_is_idempotent(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "9 new accounts" in result.output
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert set(users) == {"admin@peerlearn.local"} | {f"mentor{i}@peerlearn.local" for i in (1, 2, 3)} | {
        f"learner{i}@peerlearn.local" for i in range(1, 6)
    }
    assert all(u.is_verified for u in users.values())
    assert users["admin@peerlearn.local"].is_admin
    mentor = users["mentor1@peerlearn.local"]
    assert mentor.is_mentor and mentor.headline and mentor.bio and mentor.hourly_rate_paise > 0
    assert len(mentor.skills) >= 4
    assert all(users[f"learner{i}@peerlearn.local"].interests for i in range(1, 6))

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0 and "0 new accounts" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 9


def test_demo_accounts_can_log_in(runner, client):
    runner.invoke(args=["seed-demo"])
    response = client.post(
        "/api/login/", json={"email": "mentor2@peerlearn.local", "password": "peerlearn-demo"}
    )
    assert response.status_code == 200


def test_seed_demo_if_empty_leaves_existing_data(runner, make_user):
    make_user(email="real@example.com")
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0 and "not loaded" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_seed_demo_refused_in_production(app, runner):
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_admin(runner, client):
    result = runner.invoke(
        args=["create-admin", "--email", "Boss@Example.com", "--name", "Boss"],
        input="a-strong-admin-pass\na-strong-admin-pass\n",
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.email == "boss@example.com"))
    assert admin.is_admin and admin.is_verified
    response = client.post(
        "/api/login/", json={"email": "boss@example.com", "password": "a-strong-admin-pass"}
    )
    assert response.get_json()["data"]["user"]["role"] == "admin"


def test_create_admin_refuses_weak_password_and_duplicates(runner, make_user):
    result = runner.invoke(
        args=["create-admin", "--email", "a@example.com", "--name", "A"], input="password\npassword\n"
    )
    assert result.exit_code != 0 and "password" in result.output.lower()
    make_user(email="taken@example.com")
    result = runner.invoke(
        args=["create-admin", "--email", "taken@example.com", "--name", "A"],
        input="a-strong-admin-pass\na-strong-admin-pass\n",
    )
    assert result.exit_code != 0 and "already exists" in result.output


def test_serve_builds_links_on_the_address_it_listens_on(app, runner, monkeypatch):
    from peerlearn import cli
    from peerlearn.links import external_url

    served = {}

    def run(app, host, port, **_options):
        served["link"] = external_url("auth.reset_password", token="t")  # noqa: S106 - a test's own credential, not a secret

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr(cli, "_start_media", lambda app, install: "none (test)")
    monkeypatch.setattr("peerlearn.tasks.periodic.start_embedded", lambda app: None)
    monkeypatch.setattr(cli, "_run_server", run)
    result = runner.invoke(args=["serve", "--host", "127.0.0.1", "--port", "5123"])
    assert result.exit_code == 0, result.output
    assert served["link"] == "http://127.0.0.1:5123/auth/reset/t"
    assert "links in emails: http://127.0.0.1:5123" in result.output

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://learn.example.org")
    app.config["PUBLIC_BASE_URL"] = "https://learn.example.org"
    assert runner.invoke(args=["serve", "--port", "5123"]).exit_code == 0
    assert served["link"] == "https://learn.example.org/auth/reset/t"


def test_serve_prints_our_banner_without_werkzeugs_warnings(tmp_path):
    """`make run` as a new user sees it (serve --setup): the embedded server, with stdin not a terminal
    (as from make, an IDE or a service) answers, and what it printed holds no warning."""
    import subprocess

    from tests.conftest import free_port
    from tests.processes import BIN, ROOT, process_env, stop, wait_until_healthy

    port = free_port()
    env = process_env(
        FLASK_APP="peerlearn:create_app",
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        UPLOAD_DIR=str(tmp_path / "uploads"),
        SOCKETIO_ASYNC_MODE="threading",
        ROOM_MEDIA="mesh",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
    )
    with open(tmp_path / "serve.log", "w+b") as log:
        server = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            [BIN / "flask", "serve", "--setup", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_healthy(
                f"http://127.0.0.1:{port}", server, log, deadline_seconds=180
            )  # --setup migrates and seeds first
        finally:
            stop(server)
        log.seek(0)
        output = log.read().decode(errors="replace")
    assert f"PeerLearn is running at http://127.0.0.1:{port}" in output
    for warning in ("WARNING", "development server", "production deployment", "Traceback"):
        assert warning not in output, output
