"""deploy/: the install and upgrade scripts (syntax and, with --dry-run, their steps in order), the
nginx site (rendered as the install renders it, then `nginx -t`), the systemd units
(`systemd-analyze verify`) and the env template (no comment after a value; every setting production
needs, and a production config loads from it)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dotenv import dotenv_values

from peerlearn.config import ProductionConfig
from peerlearn.services import preflight

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"
BASH = shutil.which("bash") or "/bin/bash"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")

# Settings production needs to run as the docs describe, beyond those it refuses to start without
# (the load test below finds those): Redis for jobs and sockets across processes, the proxy count
# of the nginx in front, the folders that are backed up, mail, the webhook secret and live rooms.
PRODUCTION_NEEDS = {
    "PEERLEARN_ENV",
    "FLASK_APP",
    "PUBLIC_BASE_URL",
    "PROXY_COUNT",
    "SECRET_KEY",
    "PAYOUT_DETAILS_KEYS",
    "DATABASE_URL",
    "REDIS_URL",
    "PEERLEARN_INSTANCE_DIR",
    "UPLOAD_DIR",
    "BACKUP_DIR",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "ALLOW_DEV_GATEWAY",
    "ROOM_MEDIA",
    "JANUS_INSTANCES",
    "JANUS_TOKEN_SECRET",
    "JANUS_ADMIN_SECRET",
    "JANUS_ADMIN_KEY",
    "TURN_SECRET",
    "TURN_URLS",
}


def execute(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603 - our own arguments, no shell


def render(template, **variables):
    """deploy/common.sh's render, as the install runs it."""
    env = {**os.environ, **variables}
    result = execute(
        [BASH, "-c", '. "$1"; render "$2"', "render", str(DEPLOY / "common.sh"), str(template)],
        env=env,
        check=True,
    )
    return result.stdout


def dry_run(script, *args, **env):
    result = execute([str(DEPLOY / script), "--dry-run", *args], env={**os.environ, **env}, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def steps(output):
    return re.findall(r"^==> \[\d+\] (.*)$", output, re.MULTILINE)


def position(output, needle):
    index = output.find(needle)
    assert index >= 0, f"{needle!r} not in the output"
    return index


# ----- scripts --------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["install", "upgrade", "common.sh"])
def test_scripts_parse(script):
    result = execute([BASH, "-n", str(DEPLOY / script)])
    assert result.returncode == 0, result.stderr


def test_install_dry_run_lists_every_step_in_order(tmp_path):
    # A user no machine has, so the dry run shows a first install even where PeerLearn is installed.
    user = "peerlearn-dry-run"
    out = dry_run(
        "install",
        "--url",
        "https://learn.example.org",
        ENV_FILE=str(tmp_path / "peerlearn.env"),
        APP_USER=user,
    )
    assert steps(out) == [
        "Debian packages",
        f"System user {user} and its folders",
        f"PostgreSQL role and database {user}",
        f"Settings: {tmp_path / 'peerlearn.env'}",
        steps(out)[4],
        "Database schema (flask db upgrade)",
        "First admin",
        "Janus (the live rooms' media server) and coturn (TURN relays)",
        "TLS certificate and the nginx site",
        "systemd units",
        "Preflight (flask doctor)",
        "What next",
    ]
    assert steps(out)[4].startswith("Release ")
    assert "(dry run: nothing is changed)" in out
    assert not (tmp_path / "peerlearn.env").exists()
    # The generated database password is never shown.
    assert "PASSWORD '***'" in out
    for command in ("apt-get install", "useradd", "npm --prefix", "run --silent build", "db upgrade"):
        assert command in out
    assert position(out, "db upgrade") < position(out, "create-admin") < position(out, "janus-config")
    assert position(out, "nginx -t") < position(out, "systemctl reload nginx")
    assert "enable peerlearn.target peerlearn-worker peerlearn-cron peerlearn-janus" in out
    assert position(out, "restart peerlearn-web@8000") < position(out, "restart peerlearn-web@8001")
    assert position(out, "8000/healthz") < position(out, "restart peerlearn-web@8001")
    assert "doctor --env-file" in out
    assert "certbot certonly --webroot" in out


def test_install_keeps_an_existing_env_file_and_its_password(tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text(
        "PUBLIC_BASE_URL=https://kept.example.org\nDATABASE_URL=postgresql://peerlearn:s3cretpw@127.0.0.1/peerlearn\n"
    )
    out = dry_run("install", "--web-processes", "3", ENV_FILE=str(env))
    assert "PeerLearn install: https://kept.example.org, 3 web processes (ports 8000 8001 8002)" in out
    assert "kept the password" in out and "kept (its secrets stay" in out
    assert "s3cretpw" not in out
    assert f"write {env}" not in out
    assert "restart peerlearn-web@8002" in out


def test_install_without_systemd_installs_the_units_starts_nothing_and_says_so(tmp_path):
    out = dry_run(
        "install",
        "--url",
        "https://learn.example.org",
        ENV_FILE=str(tmp_path / "peerlearn.env"),
        SYSTEMD_RUNNING="0",
    )
    assert steps(out)[-3:] == ["systemd units", "Preflight (flask doctor)", "What next"]
    assert "systemd is not running here" in out
    assert "enable peerlearn.target peerlearn-worker peerlearn-cron peerlearn-janus" in out
    assert "write /etc/systemd/system/peerlearn-web@.service" in out
    for command in ("systemctl restart", "systemctl reload", "systemctl start", "daemon-reload", "--now"):
        assert command not in out
    assert "not started: peerlearn-web@8000" in out and "not started: peerlearn-cron" in out
    assert "/healthz" not in out
    assert "no PeerLearn process was started" in out.split("What next")[1]


def test_install_with_a_restart_command_starts_each_unit_with_it(tmp_path):
    out = dry_run(
        "install",
        "--url",
        "https://learn.example.org",
        "--restart-command",
        "supervisorctl restart {unit}",
        ENV_FILE=str(tmp_path / "peerlearn.env"),
        SYSTEMD_RUNNING="0",
    )
    assert "systemctl restart" not in out
    assert position(out, "supervisorctl restart peerlearn-web@8000") < position(out, "8000/healthz")
    assert position(out, "8000/readyz") < position(out, "supervisorctl restart peerlearn-web@8001")
    assert "supervisorctl restart peerlearn-worker" in out
    assert "no PeerLearn process was started" not in out


def test_install_refuses_an_address_without_https(tmp_path):
    result = execute(
        [str(DEPLOY / "install"), "--dry-run", "--url", "http://learn.example.org"],
        env={**os.environ, "ENV_FILE": str(tmp_path / "none.env")},
    )
    assert result.returncode == 1
    assert "https://" in result.stderr


def test_upgrade_dry_run_builds_migrates_switches_then_restarts_one_at_a_time(tmp_path):
    old = tmp_path / "releases" / "0123456789ab"
    (old / "peerlearn" / "static" / "dist").mkdir(parents=True)
    (tmp_path / "current").symlink_to(old)
    out = dry_run(
        "upgrade",
        APP_HOME=str(tmp_path),
        WEB_PORTS="8000 8001",
        ENV_FILE=str(tmp_path / "missing.env"),
        SYSTEMD_DIR=str(tmp_path / "systemd"),
    )
    assert [s.split(" ")[0] for s in steps(out)] == [
        "Build",
        "Migrate",
        "Switch",
        "nginx",
        "Web",
        "Worker",
        "Keep",
        "Check",
    ]
    # The old release's assets are carried over before the build, which keeps its last three.
    assert position(out, f"cp -a {old}/peerlearn/static/dist") < position(out, "run --silent build")
    assert position(out, "run --silent build") < position(out, "db upgrade") < position(out, "mv -T")
    order = [
        "mv -T",
        "restart peerlearn-web@8000",
        "http://127.0.0.1:8000/healthz",
        "http://127.0.0.1:8000/readyz",
        "restart peerlearn-web@8001",
        "http://127.0.0.1:8001/healthz",
        "restart peerlearn-worker",
        "restart peerlearn-cron",
    ]
    places = [position(out, needle) for needle in order]
    assert places == sorted(places)
    assert "restart peerlearn-web@8000 peerlearn-web@8001" not in out
    assert not [line for line in out.splitlines() if "systemctl" in line and "peerlearn.target" in line]


def test_upgrade_without_systemd_or_a_restart_command_stops_before_changing_anything(tmp_path):
    result = execute(
        [str(DEPLOY / "upgrade"), "--dry-run"],
        env={**os.environ, "APP_HOME": str(tmp_path), "SYSTEMD_RUNNING": "0", "PEERLEARN_RESTART": ""},
        timeout=60,
    )
    assert result.returncode == 1
    assert "--restart-command" in result.stderr
    assert "Build" not in result.stdout


def test_upgrade_restarts_through_the_restart_command_one_web_process_at_a_time(tmp_path):
    # No WEB_PORTS: the ports are those of the instances enabled in peerlearn.target.
    wants = tmp_path / "systemd" / "peerlearn.target.wants"
    wants.mkdir(parents=True)
    for port in ("8001", "8000"):
        (wants / f"peerlearn-web@{port}.service").symlink_to("../peerlearn-web@.service")
    (wants / "peerlearn-worker.service").symlink_to("../peerlearn-worker.service")
    out = dry_run(
        "upgrade",
        "--restart",
        "--restart-command",
        "/usr/local/bin/restart-unit {unit}",
        APP_HOME=str(tmp_path),
        SYSTEMD_DIR=str(tmp_path / "systemd"),
        SYSTEMD_RUNNING="0",
        WEB_PORTS="",
    )
    order = [
        "restart-unit peerlearn-web@8000",
        "http://127.0.0.1:8000/readyz",
        "restart-unit peerlearn-web@8001",
        "http://127.0.0.1:8001/readyz",
        "restart-unit peerlearn-worker",
        "restart-unit peerlearn-cron",
    ]
    places = [position(out, needle) for needle in order]
    assert places == sorted(places)
    assert "systemctl" not in out


def test_upgrade_brings_the_site_and_the_units_in_line_keeping_address_certificate_and_ports(tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text("PUBLIC_BASE_URL=https://learn.example.org:8443\n")
    site = tmp_path / "peerlearn.conf"
    site.write_text(
        "server {\n    ssl_certificate     /etc/x/full.pem;\n    ssl_certificate_key /etc/x/key.pem;\n}\n"
    )
    units = tmp_path / "systemd"
    units.mkdir()
    (units / "peerlearn-worker.service").write_text(
        (DEPLOY / "systemd" / "peerlearn-worker.service").read_text()
    )
    (units / "peerlearn-cron.service").write_text("an older unit\n")
    result = execute(
        [BASH, "-c", '. "$1"; refresh_site_and_units', "refresh", str(DEPLOY / "common.sh")],
        env={
            **os.environ,
            "DRY_RUN": "1",
            "ENV_FILE": str(env),
            "NGINX_SITE": str(site),
            "SYSTEMD_DIR": str(units),
            "WEB_PORTS": "8000 8002",
            "APP_HOME": str(tmp_path),
        },
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"write {site}, nginx -t, reload nginx" in result.stdout
    assert f"write {units}/peerlearn-cron.service" in result.stdout
    assert f"write {units}/peerlearn-worker.service" not in result.stdout
    assert "daemon-reload" in result.stdout
    # What it would write: the same render, with what the install chose.
    rendered = render(
        DEPLOY / "nginx" / "peerlearn.conf",
        SERVER_NAME="learn.example.org",
        HTTPS_PORT="8443",
        PUBLIC_BASE_URL="https://learn.example.org:8443",
        APP_ROOT=str(tmp_path / "current"),
        ACME_ROOT="/var/www/letsencrypt",
        TLS_CERT="/etc/x/full.pem",
        TLS_KEY="/etc/x/key.pem",
        WEB_SERVERS="127.0.0.1:8000 127.0.0.1:8002",
    )
    site.write_text(rendered)
    again = execute(
        [BASH, "-c", '. "$1"; refresh_site_and_units', "refresh", str(DEPLOY / "common.sh")],
        env={
            **os.environ,
            "DRY_RUN": "1",
            "ENV_FILE": str(env),
            "NGINX_SITE": str(site),
            "SYSTEMD_DIR": str(units),
            "WEB_PORTS": "8000 8002",
            "APP_HOME": str(tmp_path),
        },
        timeout=60,
    )
    assert "nginx site unchanged" in again.stdout, again.stdout + again.stderr


def test_upgrade_rollback_goes_to_the_release_before(tmp_path):
    releases = tmp_path / "releases"
    older, newer = releases / "aaaaaaaaaaaa", releases / "bbbbbbbbbbbb"
    older.mkdir(parents=True)
    newer.mkdir()
    os.utime(older, (1_000_000_000, 1_000_000_000))
    (tmp_path / "current").symlink_to(newer)
    out = dry_run("upgrade", "--rollback", APP_HOME=str(tmp_path), WEB_PORTS="8000")
    assert f"Switch back to {older}" in out
    assert f"ln -sfn {older} {tmp_path}/current.new" in out
    assert "db upgrade" not in out


# ----- nginx ----------------------------------------------------------------------------------


def site_variables(tmp_path, ports=("8000", "8001")):
    return {
        "SERVER_NAME": "learn.example.org",
        "HTTPS_PORT": "8443",
        "PUBLIC_BASE_URL": "https://learn.example.org:8443",
        "APP_ROOT": str(tmp_path / "current"),
        "ACME_ROOT": str(tmp_path / "acme"),
        "TLS_CERT": str(tmp_path / "fullchain.pem"),
        "TLS_KEY": str(tmp_path / "privkey.pem"),
        "WEB_SERVERS": " ".join(f"127.0.0.1:{port}" for port in ports),
    }


def test_site_renders_every_web_process_into_both_upstreams(tmp_path):
    site = render(DEPLOY / "nginx" / "peerlearn.conf", **site_variables(tmp_path, ("8000", "8001", "8002")))
    assert not PLACEHOLDER.search(re.sub(r"(?m)^\s*#.*$", "", site))  # every placeholder filled
    for upstream in ("peerlearn", "peerlearn_polling"):
        block = re.search(rf"upstream {upstream} \{{(.*?)\}}", site, re.DOTALL).group(1)
        assert re.findall(r"server (127\.0\.0\.1:\d+)", block) == [
            "127.0.0.1:8000",
            "127.0.0.1:8001",
            "127.0.0.1:8002",
        ]
    assert "least_conn;" in site and "hash $cookie_peerlearn_lb consistent;" in site


def test_site_keeps_the_port_in_host_and_sends_hsts_everywhere(tmp_path):
    site = render(DEPLOY / "nginx" / "peerlearn.conf", **site_variables(tmp_path))
    code = re.sub(r"#.*", "", site)
    hosts = re.findall(r"proxy_set_header Host (\S+);", code)
    assert hosts and set(hosts) == {"$http_host"}
    assert code.count('proxy_set_header X-Forwarded-Host "";') == 2
    assert code.count("server_tokens off;") == 2
    assert "return 301 https://learn.example.org:8443$request_uri;" in code
    assert "listen 8443 ssl http2;" in code
    # A location with an add_header of its own drops the server's: each repeats HSTS, with always.
    assert code.count("add_header") == code.count("add_header Strict-Transport-Security") + 1
    # The app's own HSTS would be a second header with other values: both app locations hide it.
    assert code.count("proxy_hide_header Strict-Transport-Security;") == 2
    hsts = [line for line in code.splitlines() if "add_header Strict-Transport-Security" in line]
    assert hsts and all("always" in line for line in hsts)
    assert 'add_header Cache-Control "public, max-age=31536000, immutable";' in code
    for kind in ("text/css", "application/javascript", "application/json", "image/svg+xml"):
        assert kind in re.search(r"gzip_types([^;]*);", code).group(1)
    assert 'proxy_set_header Connection "upgrade";' in code


def test_site_passes_nginx_t(tmp_path):
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed at /usr/sbin/nginx")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    variables = site_variables(tmp_path)
    execute(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=learn.example.org",
            "-keyout", variables["TLS_KEY"], "-out", variables["TLS_CERT"],
        ],
        check=True,
    )  # fmt: skip
    (tmp_path / "site.conf").write_text(render(DEPLOY / "nginx" / "peerlearn.conf", **variables))
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{ }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
"""
    )
    result = execute([NGINX, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    assert result.returncode == 0, result.stderr


# ----- systemd --------------------------------------------------------------------------------


def test_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The units run /srv/peerlearn/current/.venv/bin/…, which must exist to verify: stand-ins.
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    for name in ("gunicorn", "python"):
        stub = app / ".venv" / "bin" / name
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    janus = shutil.which("janus") or "/usr/bin/janus"
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/srv/peerlearn/current", str(app)).replace("/usr/bin/janus", janus)
        name = "peerlearn-web@8000.service" if unit.name == "peerlearn-web@.service" else unit.name
        (tmp_path / name).write_text(text)
        units.append(str(tmp_path / name))
    if not Path(janus).exists():
        units.remove(str(tmp_path / "peerlearn-janus.service"))
    result = execute([analyze, "verify", "--man=no", *units], timeout=120)
    if result.returncode != 0 and "Failed to" in result.stderr and str(tmp_path) not in result.stderr:
        pytest.skip(f"systemd-analyze verify does not work here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert str(tmp_path) not in result.stderr, result.stderr  # no warning about our units


def test_web_unit_binds_the_port_of_its_instance():
    unit = (DEPLOY / "systemd" / "peerlearn-web@.service").read_text()
    assert "--bind 127.0.0.1:%i" in unit
    assert "--workers 1" in unit
    # One control socket path per user would be shared by every web process: none at all.
    assert "--no-control-socket" in unit
    for name in ("peerlearn-web@.service", "peerlearn-worker.service", "peerlearn-cron.service"):
        text = (DEPLOY / "systemd" / name).read_text()
        assert "PartOf=peerlearn.target" in text and "WantedBy=peerlearn.target" in text
        assert "WorkingDirectory=/srv/peerlearn/current" in text


# ----- the env template -----------------------------------------------------------------------


def config_names():
    """Every variable config.py reads from the environment."""
    source = (ROOT / "peerlearn" / "config.py").read_text()
    return set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', source)) | {"PEERLEARN_ENV"}


def template_names(text):
    return [m.group(1) for m in re.finditer(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE)]


def test_env_template_has_no_comment_after_a_value(tmp_path):
    template = (DEPLOY / "peerlearn.env.template").read_text()
    for line in template.splitlines():
        if line and not line.startswith("#"):
            assert preflight.inline_comment(line.partition("=")[2]) is None, line
    rendered = tmp_path / "peerlearn.env"
    rendered.write_text(template)
    [check] = preflight.check_env_files([rendered], production=True)
    assert check.status == preflight.OK


def test_env_template_names_every_setting_production_needs():
    names = template_names((DEPLOY / "peerlearn.env.template").read_text())
    assert len(names) == len(set(names)), "a setting appears twice"
    assert set(names) >= PRODUCTION_NEEDS, PRODUCTION_NEEDS - set(names)
    unknown = set(names) - config_names() - {"FLASK_APP"}
    assert not unknown, f"not read by config.py: {unknown}"


def test_a_production_config_loads_from_the_rendered_template(tmp_path, monkeypatch):
    values = {
        "PUBLIC_BASE_URL": "https://learn.example.org",
        "SERVER_NAME": "learn.example.org",
        "DATABASE_URL": "postgresql://peerlearn:pw@127.0.0.1:5432/peerlearn",
        "MAIL_SERVER": "localhost",
        "SECRET_KEY": "9f" * 32,
        "PAYOUT_DETAILS_KEYS": "dGVzdGluZy1wYXlvdXQtZGV0YWlscy1rZXktMzJieXQ=",
        "JANUS_PUBLIC": "wss://learn.example.org/janus-ws/",
        "JANUS_TOKEN_SECRET": "t" * 64,
        "JANUS_ADMIN_SECRET": "a" * 64,
        "JANUS_ADMIN_KEY": "k" * 64,
        "TURN_SECRET": "s" * 64,
    }
    text = render(DEPLOY / "peerlearn.env.template", **values)
    assert not PLACEHOLDER.search(re.sub(r"(?m)^\s*#.*$", "", text))
    path = tmp_path / "peerlearn.env"
    path.write_text(text)
    for name in config_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in dotenv_values(path).items():
        monkeypatch.setenv(name, value)
    settings = ProductionConfig.load()
    assert settings["UPLOAD_DIR"] == "/var/lib/peerlearn/uploads"
    assert settings["BACKUP_DIR"] == "/var/lib/peerlearn/backups"
    assert settings["PROXY_COUNT"] == 1
    assert settings["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert settings["JANUS_INSTANCES"][0]["public"] == "wss://learn.example.org/janus-ws/"
    assert settings["MAIL_DEFAULT_SENDER"] == "PeerLearn <no-reply@learn.example.org>"
    assert settings["TURN_URLS"] == [
        "turn:learn.example.org:3478?transport=udp",
        "turns:learn.example.org:5349?transport=tcp",
    ]
