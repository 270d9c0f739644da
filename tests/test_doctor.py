"""`flask doctor`: each preflight check passes on a sound install and fails on the fault it is for
(the faults a first install on a VM ran into), and the command exits 1 when any check fails."""

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask_migrate import upgrade

from peerlearn import create_app
from peerlearn.extensions import db
from peerlearn.services import preflight, storage
from tests.conftest import free_port
from tests.support.s3 import moto_server, new_bucket, s3_client, s3_settings

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SITE = """
upstream peerlearn { server 127.0.0.1:8000; }
server {
    listen 443 ssl;
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    location / {
        proxy_pass http://peerlearn;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
}
"""


def statuses(checks):
    return {check.name: check.status for check in checks}


# ----- the env file ---------------------------------------------------------------------------


def test_env_file_without_comments_after_values_passes(tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text(
        "# Uploads go to /var/lib/peerlearn/uploads\n"
        "UPLOAD_DIR=/var/lib/peerlearn/uploads\n"
        'MAIL_DEFAULT_SENDER="PeerLearn # Team <no-reply@example.org>"\n'
        "MAIL_PASSWORD=pa#ss\n"
        "\n"
    )
    [check] = preflight.check_env_files([env], production=True)
    assert check.status == preflight.OK


def test_env_file_with_a_comment_after_a_value_fails_naming_the_line(tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text(
        "PEERLEARN_ENV=production\n"
        "PEERLEARN_INSTANCE_DIR=/var/lib/peerlearn   # uploads go to /var/lib/peerlearn/uploads\n"
        'MAIL_DEFAULT_SENDER="PeerLearn <no-reply@example.org>" # who mails\n'
    )
    [check] = preflight.check_env_files([env], production=True)
    assert check.status == preflight.FAIL
    assert "line 2 (PEERLEARN_INSTANCE_DIR)" in check.detail
    assert "line 3 (MAIL_DEFAULT_SENDER)" in check.detail
    assert check.fix


def test_env_file_that_cannot_be_read_fails(tmp_path):
    [check] = preflight.check_env_files([tmp_path / "missing.env"], production=False)
    assert check.status == preflight.FAIL


# ----- folders --------------------------------------------------------------------------------


def test_writable_folders_pass(app, tmp_path):
    for name in ("uploads", "backups"):
        (tmp_path / name).mkdir()
    app.config.update(UPLOAD_DIR=str(tmp_path / "uploads"), BACKUP_DIR=str(tmp_path / "backups"))
    check = preflight.check_writable_paths(app.config)
    assert check.status == preflight.OK, check


def test_a_folder_that_cannot_be_made_fails(app, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    app.config.update(UPLOAD_DIR=str(tmp_path / "a-file" / "uploads"), BACKUP_DIR=str(tmp_path))
    check = preflight.check_writable_paths(app.config)
    assert check.status == preflight.FAIL
    assert "UPLOAD_DIR" in check.detail


def test_a_folder_with_a_comment_systemd_kept_fails(app, tmp_path):
    app.config.update(UPLOAD_DIR=f"{tmp_path}   # the backed-up folder", BACKUP_DIR=str(tmp_path))
    check = preflight.check_writable_paths(app.config)
    assert check.status == preflight.FAIL
    assert "comment" in check.detail


# ----- stored files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    yield from moto_server()


def test_stored_files_in_the_folder_are_the_folder_check(app):
    check = preflight.check_storage(app.config)
    assert check.status == preflight.OK
    assert f"UPLOAD_DIR {app.config['UPLOAD_DIR']}" in check.detail


def test_a_bucket_that_takes_a_probe_object_passes_and_keeps_nothing(app, s3_endpoint):
    bucket = new_bucket(s3_endpoint)
    app.config.update(s3_settings(s3_endpoint, bucket))
    check = preflight.check_storage(app.config)
    assert check.status == preflight.OK, check
    assert "written, read back and removed" in check.detail
    assert s3_client(s3_endpoint).list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_a_bucket_on_a_closed_port_fails(app):
    app.config.update(s3_settings(f"http://127.0.0.1:{free_port()}", "peerlearn-away"))
    check = preflight.check_storage(app.config)
    assert check.status == preflight.FAIL
    assert "cannot be reached (EndpointConnectionError)" in check.detail
    assert "Could not connect" in check.detail
    assert "S3_ENDPOINT_URL" in check.fix


def test_a_bucket_that_does_not_exist_fails_saying_to_create_it(app, s3_endpoint):
    app.config.update(s3_settings(s3_endpoint, "peerlearn-never-made"))
    check = preflight.check_storage(app.config)
    assert check.status == preflight.FAIL
    assert "no such bucket" in check.detail
    assert check.fix == "create the bucket peerlearn-never-made (private), or correct S3_BUCKET"


def test_credentials_that_may_not_write_fail_naming_the_permissions(app, s3_endpoint):
    """moto takes any credentials: S3's refusal is played by botocore's Stubber."""
    from botocore.stub import Stubber

    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    store = storage.get_storage()
    with Stubber(store.client) as stub:
        stub.add_client_error(
            "put_object",
            service_error_code="AccessDenied",
            service_message="Access Denied",
            http_status_code=403,
        )
        check = preflight.check_storage(app.config)
    assert check.status == preflight.FAIL
    assert "answers, but a probe object could not be written" in check.detail
    assert "AccessDenied" in check.detail
    assert "s3:PutObject, s3:GetObject and s3:DeleteObject" in check.fix
    assert f"arn:aws:s3:::{store.bucket}/peerlearn-test/*" in check.fix


def test_a_probe_that_cannot_be_read_back_fails_and_is_removed(app, s3_endpoint):
    from botocore.stub import ANY, Stubber

    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    store = storage.get_storage()
    with Stubber(store.client) as stub:
        stub.add_response(
            "put_object", {}, {"Bucket": store.bucket, "Key": ANY, "Body": ANY, "ContentType": ANY}
        )
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        stub.add_response("delete_object", {}, {"Bucket": store.bucket, "Key": ANY})
        check = preflight.check_storage(app.config)
        stub.assert_no_pending_responses()
    assert check.status == preflight.FAIL
    assert "could not be read back" in check.detail


# ----- addresses ------------------------------------------------------------------------------


def test_public_base_url_over_https_passes_in_production(app, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://learn.example.org")
    app.config["PUBLIC_BASE_URL"] = "https://learn.example.org"
    assert preflight.check_public_base_url(app.config, production=True).status == preflight.OK


def test_public_base_url_over_http_fails_in_production(app, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://learn.example.org:8080")
    app.config["PUBLIC_BASE_URL"] = "http://learn.example.org:8080"
    check = preflight.check_public_base_url(app.config, production=True)
    assert check.status == preflight.FAIL
    assert "https" in check.detail


def test_public_base_url_unset_warns_outside_production(app, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert preflight.check_public_base_url(app.config, production=False).status == preflight.WARN


def test_proxy_count_one_behind_nginx_passes(app, tmp_path):
    site = tmp_path / "peerlearn.conf"
    site.write_text(SITE)
    app.config["PROXY_COUNT"] = 1
    assert preflight.check_proxy_count(app.config, str(site), production=True).status == preflight.OK


def test_proxy_count_zero_behind_nginx_fails(app, tmp_path):
    site = tmp_path / "peerlearn.conf"
    site.write_text(SITE)
    app.config["PROXY_COUNT"] = 0
    check = preflight.check_proxy_count(app.config, str(site), production=True)
    assert check.status == preflight.FAIL
    assert "PROXY_COUNT=1" in check.fix


def test_proxy_count_without_a_proxy_warns(app, tmp_path):
    app.config["PROXY_COUNT"] = 1
    check = preflight.check_proxy_count(app.config, str(tmp_path / "no-site.conf"), production=True)
    assert check.status == preflight.WARN
    assert "forge" in check.detail


# ----- secrets --------------------------------------------------------------------------------


def test_a_random_secret_key_passes(app):
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    assert preflight.check_secret_key(app.config, production=True).status == preflight.OK


@pytest.mark.parametrize(
    "key",
    ["testing-secret-key", "<output of: python3 -c 'import secrets'>", "@SECRET_KEY@", "a" * 40],
)
def test_a_default_or_placeholder_secret_key_fails(app, key):
    app.config["SECRET_KEY"] = key
    assert preflight.check_secret_key(app.config, production=True).status == preflight.FAIL


# ----- services -------------------------------------------------------------------------------


def test_a_database_never_migrated_fails(app):
    check = preflight.check_database()
    assert check.status == preflight.FAIL
    assert "never migrated" in check.detail
    assert "db upgrade" in check.fix


@pytest.fixture
def migrated(tmp_path):
    """A whole app of its own on a SQLite file migrated to head, with its folders made."""
    for name in ("uploads", "backups"):
        (tmp_path / name).mkdir()
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'doctor.sqlite3'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "INSTANCE_DIR": str(tmp_path),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "BACKUP_DIR": str(tmp_path / "backups"),
            "SECRET_KEY": secrets.token_hex(32),
        },
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_database_migrated_to_head_passes(migrated):
    check = preflight.check_database()
    assert check.status == preflight.OK, check


def test_a_database_that_does_not_answer_fails(app):
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
    with other.app_context():
        check = preflight.check_database()
        db.engine.dispose()
    assert check.status == preflight.FAIL
    assert "not reachable" in check.detail


def test_redis_that_answers_passes(app, redis_url):
    app.config["REDIS_URL"] = redis_url
    assert preflight.check_redis(app.config, production=True).status == preflight.OK


def test_redis_on_a_closed_port_fails(app):
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    check = preflight.check_redis(app.config, production=True)
    assert check.status == preflight.FAIL
    assert "does not answer" in check.detail


def test_janus_that_answers_passes(janus_app):
    janus_app.config["ROOM_MEDIA"] = "janus"
    assert preflight.check_janus(janus_app.config, production=True).status == preflight.OK


def test_janus_on_a_closed_port_fails(app):
    port = free_port()
    app.config.update(
        ROOM_MEDIA="janus",
        JANUS_INSTANCES=[
            {
                "name": "janus-1",
                "api": f"http://127.0.0.1:{port}/janus",
                "admin": f"http://127.0.0.1:{port}/admin",
                "public": "wss://learn.example.org/janus-ws/",
            }
        ],
        JANUS_TOKEN_SECRET="t" * 32,
        JANUS_ADMIN_SECRET="a" * 32,
        JANUS_ADMIN_KEY="k" * 32,
        JANUS_TIMEOUT_SECONDS=2,
    )
    check = preflight.check_janus(app.config, production=True)
    assert check.status == preflight.FAIL
    assert "janus-1" in check.detail


def test_no_janus_and_no_mesh_fails_in_production(app):
    app.config.update(ROOM_MEDIA="auto", JANUS_INSTANCES=[], ALLOW_MESH_ROOMS=False)
    assert preflight.check_janus(app.config, production=True).status == preflight.FAIL


# ----- TLS ------------------------------------------------------------------------------------


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_certificate(folder, host, *, days=90, self_signed=False):
    """A key and a certificate for ``host``: signed by a test CA, or by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = key if self_signed else ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(_name(host if self_signed else "Test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert), str(key_path)


@pytest.fixture
def site_app(app):
    app.config["PUBLIC_BASE_URL"] = "https://learn.example.org"
    return app


def test_a_certificate_for_the_site_passes(site_app, tmp_path):
    cert, key = write_certificate(tmp_path, "learn.example.org")
    check = preflight.check_tls(site_app.config, cert, key, None, production=True, now=NOW)
    assert check.status == preflight.OK, check


def test_the_certificate_is_found_in_the_nginx_site(site_app, tmp_path):
    cert, key = write_certificate(tmp_path, "learn.example.org")
    site = tmp_path / "peerlearn.conf"
    site.write_text(SITE.replace("{cert}", cert).replace("{key}", key))
    check = preflight.check_tls(site_app.config, None, None, str(site), production=True, now=NOW)
    assert check.status == preflight.OK, check
    assert cert in check.detail


def test_a_missing_certificate_fails_with_how_to_get_one(site_app, tmp_path):
    cert, key = str(tmp_path / "fullchain.pem"), str(tmp_path / "privkey.pem")
    check = preflight.check_tls(site_app.config, cert, key, None, production=True, now=NOW)
    assert check.status == preflight.FAIL
    assert "certbot" in check.fix and "learn.example.org" in check.fix


def test_an_expired_certificate_fails(site_app, tmp_path):
    cert, key = write_certificate(tmp_path, "learn.example.org", days=30)
    check = preflight.check_tls(
        site_app.config, cert, key, None, production=True, now=NOW + timedelta(days=31)
    )
    assert check.status == preflight.FAIL
    assert "expired" in check.detail


def test_a_certificate_for_another_host_fails(site_app, tmp_path):
    cert, key = write_certificate(tmp_path, "other.example.org")
    check = preflight.check_tls(site_app.config, cert, key, None, production=True, now=NOW)
    assert check.status == preflight.FAIL


def test_a_self_signed_certificate_warns(site_app, tmp_path):
    cert, key = write_certificate(tmp_path, "learn.example.org", self_signed=True)
    check = preflight.check_tls(site_app.config, cert, key, None, production=True, now=NOW)
    assert check.status == preflight.WARN
    assert "self-signed" in check.detail


def test_no_certificate_in_production_warns_with_how_to_get_one(site_app, tmp_path, monkeypatch):
    monkeypatch.delenv("TLS_CERT_FILE", raising=False)
    check = preflight.check_tls(site_app.config, None, None, str(tmp_path / "none"), production=True)
    assert check.status == preflight.WARN
    assert "certbot" in check.fix


# ----- the command ----------------------------------------------------------------------------


def test_doctor_exits_0_when_nothing_fails(migrated, tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text("SECRET_KEY=abc\n")
    result = migrated.test_cli_runner().invoke(
        args=["doctor", "--env-file", str(env), "--nginx-site", str(tmp_path / "none.conf")]
    )
    assert result.exit_code == 0, result.output
    assert "fail " not in result.output
    assert "ok    database" in result.output
    assert "0 failed" in result.output


def test_doctor_exits_1_and_prints_the_fix_when_a_check_fails(migrated, tmp_path):
    env = tmp_path / "peerlearn.env"
    env.write_text("UPLOAD_DIR=/var/lib/peerlearn/uploads # backed up\n")
    result = migrated.test_cli_runner().invoke(
        args=["doctor", "--env-file", str(env), "--nginx-site", str(tmp_path / "none.conf")]
    )
    assert result.exit_code == 1
    assert f"fail  env file {env}" in result.output
    assert "fix: move each comment to a line of its own" in result.output
    assert "1 failed" in result.output


@pytest.mark.parametrize("given", [["--env-file", "{env}"], ["-e", "{env}"], ["--env-file={env}"]])
def test_doctor_checks_the_env_file_given_to_flask(migrated, tmp_path, monkeypatch, given):
    env = tmp_path / "peerlearn.env"
    env.write_text("PEERLEARN_INSTANCE_DIR=/var/lib/peerlearn   # uploads go here\n")
    monkeypatch.setattr("sys.argv", ["flask", *(a.format(env=env) for a in given), "doctor"])
    result = migrated.test_cli_runner().invoke(args=["doctor", "--nginx-site", str(tmp_path / "none.conf")])
    assert result.exit_code == 1
    assert (
        f"fail  env file {env}: a comment after a value on line 1 (PEERLEARN_INSTANCE_DIR)" in result.output
    )


def test_doctor_checks_the_bucket(migrated, tmp_path, s3_endpoint):
    env = tmp_path / "peerlearn.env"
    env.write_text("STORAGE_BACKEND=s3\n")
    args = ["doctor", "--env-file", str(env), "--nginx-site", str(tmp_path / "none.conf")]
    migrated.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    result = migrated.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "ok    storage: S3 bucket peerlearn-" in result.output

    migrated.config.update(s3_settings(f"http://127.0.0.1:{free_port()}", "peerlearn-away"))
    result = migrated.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert "fail  storage: S3 bucket peerlearn-away at http://127.0.0.1:" in result.output
    assert "fix: check S3_ENDPOINT_URL" in result.output


def test_running_as_root_in_production_warns_that_folders_were_checked_as_root():
    [check] = preflight.check_user(production=True, euid=0)
    assert check.status == preflight.WARN
    assert "sudo -u peerlearn" in check.fix
    assert preflight.check_user(production=True, euid=1000) == []
