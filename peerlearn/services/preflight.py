"""The preflight of `flask doctor` (and the last step of deploy/install): checks of what an install
trips on, each answered ok, warn or fail with a one-line fix.

What they look for comes from a real first install: a comment after a value in the env file,
which systemd keeps as part of the value (uploads landed outside the backed-up folder); a proxy
count that does not match the proxies in front; a secret left at a placeholder; a database not
migrated; Redis, Janus or the bucket not answering; no TLS certificate. Every check reads the
settings the app runs with and touches nothing but a probe file in each folder it must write to
and, with a bucket, a probe object it writes, reads back and removes.
"""

import contextlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import text

from ..extensions import db

OK, WARN, FAIL = "ok", "warn", "fail"

# Where deploy/install puts things; the checks look there when not told otherwise.
SYSTEM_ENV_FILE = "/etc/peerlearn/peerlearn.env"
NGINX_SITE = "/etc/nginx/sites-enabled/peerlearn.conf"
ACME_ROOT = "/var/www/letsencrypt"

# Values of SECRET_KEY that are known to the world: the test configuration's, and the
# placeholders of the docs and templates.
KNOWN_SECRET_KEYS = {"testing-secret-key", "secret", "changeme", "change-me", "dev", "development"}
SECRET_PLACEHOLDER = re.compile(r"[<>@]|change.?me|example|secret.?key", re.IGNORECASE)

# KEY=value, as systemd's EnvironmentFile= reads it.
ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def run_checks(*, env_files=(), tls_cert=None, tls_key=None, nginx_site=NGINX_SITE):
    """Every check, in the order an operator would fix them."""
    config = current_app.config
    production = config["ENV_NAME"] == "production"
    return [
        *check_env_files(env_files, production=production),
        *check_user(production=production),
        check_writable_paths(config),
        check_storage(config),
        check_public_base_url(config, production=production),
        check_proxy_count(config, nginx_site, production=production),
        check_secret_key(config, production=production),
        check_database(),
        check_redis(config, production=production),
        check_janus(config, production=production),
        check_tls(config, tls_cert, tls_key, nginx_site, production=production),
    ]


# ----- the env file -------------------------------------------------------------------------


def inline_comment(value):
    """The comment after a value (`/var/lib/x   # note`), or None. A quoted value may hold a #
    (`"a # b"`); an unquoted one only when no blank precedes it (`pa#ss`)."""
    value = value.strip()
    if value[:1] in {'"', "'"}:
        end = value.find(value[0], 1)
        rest = value[end + 1 :].strip() if end > 0 else ""
        return rest if rest.startswith("#") else None
    match = re.search(r"\s#", value)
    return value[match.start() :].strip() if match else None


def check_env_files(paths, *, production):
    if not paths:
        if production:
            return [
                Check(
                    "env file",
                    WARN,
                    "no env file given, so none was checked for comments after values",
                    f"run `flask doctor --env-file {SYSTEM_ENV_FILE}`",
                )
            ]
        return []
    checks = []
    for path in paths:
        path = Path(path)
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            checks.append(
                Check(f"env file {path}", FAIL, f"cannot be read: {exc.strerror}", "check the path")
            )
            continue
        found = []
        for number, line in enumerate(lines, start=1):
            match = ENV_LINE.match(line.strip())
            if match and line.lstrip()[:1] != "#":
                comment = inline_comment(match.group(2))
                if comment:
                    found.append(f"line {number} ({match.group(1)})")
        if found:
            checks.append(
                Check(
                    f"env file {path}",
                    FAIL,
                    f"a comment after a value on {', '.join(found)}: systemd keeps it as part of the value",
                    "move each comment to a line of its own, above the setting",
                )
            )
        else:
            checks.append(Check(f"env file {path}", OK, f"{len(lines)} lines, no comment after a value"))
    return checks


# ----- folders --------------------------------------------------------------------------------


def check_user(*, production, euid=None):
    """root can write anywhere: the folder checks then say nothing of the services' user."""
    euid = os.geteuid() if euid is None else euid
    if production and euid == 0:
        return [
            Check(
                "user",
                WARN,
                "running as root, so the folder checks do not show what the peerlearn user may write",
                "sudo -u peerlearn .venv/bin/flask --env-file /etc/peerlearn/peerlearn.env doctor",
            )
        ]
    return []


def _writable(folder):
    """None when a file can be created in ``folder``, else why not."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_writable_paths(config):
    folders = {
        "PEERLEARN_INSTANCE_DIR": config["INSTANCE_DIR"],
        "UPLOAD_DIR": config["UPLOAD_DIR"],
        "BACKUP_DIR": config["BACKUP_DIR"],
    }
    problems, later = [], []
    for name, value in folders.items():
        path = Path(value)
        if "#" in value or value != value.strip():
            problems.append(f"{name}={value!r} holds a comment or blanks")
        elif not path.is_absolute():
            problems.append(f"{name}={value} is relative (it depends on the working directory)")
        elif path.is_dir():
            reason = _writable(path)
            if reason:
                problems.append(f"{name} {path} is not writable: {reason}")
        elif path.exists():
            problems.append(f"{name} {path} is not a folder")
        else:
            parent = next((p for p in path.parents if p.exists()), None)
            reason = _writable(parent) if parent is not None and parent.is_dir() else "no folder above it"
            if reason:
                problems.append(f"{name} {path} does not exist and cannot be created: {reason}")
            else:
                later.append(f"{name} {path}")
    if problems:
        return Check(
            "writable folders",
            FAIL,
            "; ".join(problems),
            "sudo install -d -o peerlearn -g peerlearn <folder> (an absolute path, no comment after it)",
        )
    if later:
        return Check(
            "writable folders",
            WARN,
            f"{', '.join(later)} will be created on first use",
            "create them now to be sure of their owner: sudo install -d -o peerlearn -g peerlearn <folder>",
        )
    return Check("writable folders", OK, ", ".join(str(v) for v in folders.values()))


# ----- stored files ---------------------------------------------------------------------------

PROBE_BODY = b"flask doctor was here; removed at once\n"


def check_storage(config):
    """Where photos and covers go. The folder is the writable-folders check's; a bucket must
    answer, and take, give back and remove a probe object, as uploads, pages and replacing a
    photo do (the three permissions docs/operations.md names)."""
    from .storage import StorageCheckFailed, StorageUnavailable, StoredFileMissing, get_storage

    store = get_storage()
    if store.kind == "local":
        return Check("storage", OK, f"the folder UPLOAD_DIR {config['UPLOAD_DIR']} (checked above)")
    where = store.describe()
    try:
        store.check()
    except StorageCheckFailed as exc:
        return Check("storage", FAIL, f"{where}: {exc.message}: {exc.cause}", exc.fix)
    key = f"peerlearn-check/doctor-{secrets.token_hex(8)}.txt"
    step = "written"
    try:
        store.put(key, PROBE_BODY, "text/plain")
        step = "read back"
        if store.get(key) != PROBE_BODY:
            raise StorageUnavailable("it read back other bytes than were written")
        step = "removed"
        store.delete(key)
    except (StorageUnavailable, StoredFileMissing) as exc:
        if step == "read back":
            # Left behind, it would be a few bytes under its own name; the log names it.
            with contextlib.suppress(StorageUnavailable):
                store.delete(key)
        cause = exc.__cause__ or exc
        return Check(
            "storage",
            FAIL,
            f"{where} answers, but a probe object could not be {step}: {_first_line(cause)}",
            f"give the credentials s3:PutObject, s3:GetObject and s3:DeleteObject on "
            f"arn:aws:s3:::{store.bucket}/{store.prefix}*",
        )
    return Check("storage", OK, f"{where}: a probe object written, read back and removed")


def _first_line(exc):
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ----- addresses ------------------------------------------------------------------------------


def check_public_base_url(config, *, production):
    url = config["PUBLIC_BASE_URL"]
    if not os.environ.get("PUBLIC_BASE_URL"):
        return Check(
            "PUBLIC_BASE_URL",
            FAIL if production else WARN,
            f"not set: links in emails point at {url}",
            "set PUBLIC_BASE_URL to the address people open the site at",
        )
    if production and urlsplit(url).scheme != "https":
        return Check(
            "PUBLIC_BASE_URL",
            FAIL,
            f"{url} is not https: the production session cookie is Secure, so nobody could sign in",
            "serve the site over TLS (deploy/nginx/peerlearn.conf) and set PUBLIC_BASE_URL=https://…",
        )
    return Check("PUBLIC_BASE_URL", OK, url)


def nginx_proxies_to_app(site):
    """Whether the nginx site at ``site`` exists and proxies to the app (it sets X-Forwarded-For)."""
    try:
        body = Path(site).read_text()
    except OSError:
        return False
    return "proxy_pass" in body and "X-Forwarded-For" in body


def check_proxy_count(config, nginx_site, *, production):
    count = config["PROXY_COUNT"]
    behind_nginx = bool(nginx_site) and nginx_proxies_to_app(nginx_site)
    if behind_nginx and count == 0:
        return Check(
            "PROXY_COUNT",
            FAIL,
            f"0, but nginx ({nginx_site}) proxies to the app: every client would have nginx's "
            "address, so one client's failed sign-ins would use up the per-address limits of all",
            "set PROXY_COUNT=1 (one nginx in front; 2 with a load balancer before it)",
        )
    if behind_nginx:
        note = "" if count == 1 else " (more than one proxy: a load balancer before nginx?)"
        return Check(
            "PROXY_COUNT",
            OK if count == 1 else WARN,
            f"{count}, behind nginx ({nginx_site}){note}",
            "" if count == 1 else "set it to the number of proxies that really add X-Forwarded-For",
        )
    if count > 0:
        return Check(
            "PROXY_COUNT",
            WARN,
            f"{count}, but no nginx site proxies to the app here ({nginx_site or 'none given'}): "
            "without a proxy in front, clients could forge their address with X-Forwarded-For",
            "set PROXY_COUNT to the number of proxies in front (0 if none), or pass --nginx-site",
        )
    if production:
        return Check(
            "PROXY_COUNT",
            WARN,
            f"0 and no nginx site found at {nginx_site}: is the app served without a proxy?",
            "install deploy/nginx/peerlearn.conf and set PROXY_COUNT=1",
        )
    return Check("PROXY_COUNT", OK, "0: no proxy in front, X-Forwarded-* ignored")


# ----- secrets --------------------------------------------------------------------------------


def check_secret_key(config, *, production):
    key = config["SECRET_KEY"] or ""
    fix = "set SECRET_KEY to the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'"
    if key.lower() in KNOWN_SECRET_KEYS or SECRET_PLACEHOLDER.search(key):
        return Check("SECRET_KEY", FAIL, "a default or placeholder value, known to anyone", fix)
    if len(key) < 32 or len(set(key)) < 10:
        return Check("SECRET_KEY", FAIL if production else WARN, "too short or too regular to be random", fix)
    return Check("SECRET_KEY", OK, f"{len(key)} characters")


# ----- services -------------------------------------------------------------------------------


def migration_heads():
    """(the revisions the database is at, the revisions the code's migrations end at)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())


def check_database():
    url = db.engine.url.render_as_string(hide_password=True)
    try:
        db.session.execute(text("SELECT 1"))
        current, heads = migration_heads()
    except Exception as exc:  # any driver error: the message is the finding
        db.session.rollback()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Check(
            "database",
            FAIL,
            f"{url} is not reachable: {reason}",
            "check DATABASE_URL and that PostgreSQL runs (systemctl status postgresql)",
        )
    finally:
        db.session.remove()
    if current == heads:
        return Check("database", OK, f"{url}, migrated to {', '.join(sorted(heads))}")
    at = ", ".join(sorted(current)) or "no revision (never migrated)"
    return Check(
        "database",
        FAIL,
        f"{url} is at {at}; the code expects {', '.join(sorted(heads))}",
        "flask --env-file /etc/peerlearn/peerlearn.env db upgrade",
    )


def check_redis(config, *, production):
    url = config["REDIS_URL"]
    if not url:
        if production:
            return Check(
                "Redis",
                WARN,
                "REDIS_URL not set: jobs run inside the web process and sockets cannot span processes",
                "set REDIS_URL=redis://127.0.0.1:6379/0 (apt-get install redis-server)",
            )
        return Check("Redis", OK, "not configured: jobs run in the web process")
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    shown = _without_password(url)
    try:
        client.ping()
    except RedisError as exc:
        return Check(
            "Redis",
            FAIL,
            f"{shown} does not answer: {exc}",
            "check REDIS_URL and that Redis runs (systemctl status redis-server)",
        )
    finally:
        client.close()
    return Check("Redis", OK, f"{shown} answers")


def _without_password(url):
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def check_janus(config, *, production):
    from ..media.janus import JanusUnavailable
    from . import media

    if config["ROOM_MEDIA"] == "mesh":
        return Check("Janus", OK, "not used (ROOM_MEDIA=mesh: browser to browser)")
    instances = media.instances()
    if not instances:
        if production and not config["ALLOW_MESH_ROOMS"]:
            return Check(
                "Janus",
                FAIL,
                "no JANUS_INSTANCES and ALLOW_MESH_ROOMS is off: no live room can open",
                "configure Janus (deploy/install does; docs/operations.md, Group rooms)",
            )
        return Check("Janus", OK, "not configured: rooms run browser to browser")
    down = []
    for instance in instances:
        try:
            media.client(instance).info()
        except JanusUnavailable as exc:
            # requests' own message repeats the URL in a nest of wrappers; the errno says it all.
            errno = re.search(r"\[Errno -?\d+\] [^'\")]+", exc.reason)
            down.append(f"{instance.name} ({instance.api}): {errno.group(0) if errno else exc.reason}")
    if down:
        return Check(
            "Janus",
            FAIL,
            "; ".join(down),
            "systemctl status peerlearn-janus, and check JANUS_INSTANCES' api addresses",
        )
    return Check("Janus", OK, ", ".join(f"{i.name} answers" for i in instances))


# ----- TLS ------------------------------------------------------------------------------------


def certificate_paths(cert, key, nginx_site):
    """The certificate and key to check: given, from the environment, or from the nginx site."""
    cert = cert or os.environ.get("TLS_CERT_FILE")
    key = key or os.environ.get("TLS_KEY_FILE")
    if not cert and nginx_site:
        try:
            body = Path(nginx_site).read_text()
        except OSError:
            body = ""
        found_cert = re.search(r"^\s*ssl_certificate\s+(\S+?);", body, re.MULTILINE)
        found_key = re.search(r"^\s*ssl_certificate_key\s+(\S+?);", body, re.MULTILINE)
        cert = found_cert.group(1) if found_cert else None
        key = key or (found_key.group(1) if found_key else None)
    return cert, key


def _missing(path):
    """Whether ``path`` is known not to exist (a folder this user may not enter is no proof)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def check_tls(config, cert, key, nginx_site, *, production, now=None):
    host = urlsplit(config["PUBLIC_BASE_URL"]).hostname or "your.host"
    how = (
        f"sudo certbot certonly --webroot -w {ACME_ROOT} -d {host}, then point nginx at "
        f"/etc/letsencrypt/live/{host}/ (deploy/install --tls-cert … --tls-key …)"
    )
    cert, key = certificate_paths(cert, key, nginx_site)
    if not cert:
        return Check(
            "TLS certificate",
            WARN if production else OK,
            "none given (--tls-cert, TLS_CERT_FILE or the nginx site)"
            if production
            else "not needed to serve over http",
            how if production else "",
        )
    missing = [path for path in (cert, key) if path and _missing(path)]
    if missing:
        return Check("TLS certificate", FAIL, f"{', '.join(missing)} not found", how)
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    try:
        certificate = x509.load_pem_x509_certificate(Path(cert).read_bytes())
    except PermissionError:
        return Check(
            "TLS certificate", WARN, f"{cert} cannot be read by this user", "run flask doctor with sudo"
        )
    except ValueError as exc:
        return Check("TLS certificate", FAIL, f"{cert} is not a PEM certificate: {exc}", how)
    now = now or datetime.now(UTC)
    expires = certificate.not_valid_after_utc
    if expires <= now:
        return Check("TLS certificate", FAIL, f"{cert} expired on {expires:%Y-%m-%d}", how)
    if certificate.issuer == certificate.subject:
        return Check(
            "TLS certificate",
            WARN,
            f"{cert} is self-signed: browsers will warn everyone who opens the site",
            how,
        )
    try:
        names = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if host not in names and f"*.{host.partition('.')[2]}" not in names:
        return Check(
            "TLS certificate", FAIL, f"{cert} is for {', '.join(names) or 'no name'}, not {host}", how
        )
    if expires - now < timedelta(days=14):
        return Check(
            "TLS certificate",
            WARN,
            f"{cert} expires on {expires:%Y-%m-%d}",
            "sudo certbot renew (and check its timer: systemctl list-timers certbot)",
        )
    return Check("TLS certificate", OK, f"{cert}, for {host}, until {expires:%Y-%m-%d}")
