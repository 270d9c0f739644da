"""Configuration classes.

Every value is read from the environment when ``create_app`` runs (``Config.load``), never at
import time, so tests and scripts can set variables before building an app.
"""

import json
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


def env_str(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name, default):
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def env_bool(name, default=False):
    value = env_str(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_json(name, default):
    value = env_str(name)
    if value is None:
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be valid JSON") from exc


def env_list(name):
    """A comma-separated list, or None when unset."""
    value = env_str(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def normalise_database_url(url):
    """Accept the common ``postgres://`` spelling and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def served_url(host, port):
    """The address `flask serve --host HOST --port PORT` answers on, for links. A wildcard bind
    address is no place to send a browser, so links point at loopback then."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_base_url(url):
    """PUBLIC_BASE_URL without a trailing slash, once it is known to be a site's address."""
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    is_address = parts.scheme in {"http", "https"} and parts.hostname and port_ok
    if not is_address or parts.query or parts.fragment:
        raise ConfigError(
            "PUBLIC_BASE_URL must be the address people open the site at, such as "
            f"https://learn.example.org (a path is allowed, no query), got {url!r}"
        )
    return url.rstrip("/")


# The test configuration's payout details key (a valid Fernet key, public by design).
TESTING_PAYOUT_KEY = "dGVzdGluZy1wYXlvdXQtZGV0YWlscy1rZXktMzJieXQ="


def check_payout_keys(keys):
    """Every PAYOUT_DETAILS_KEYS entry must be a Fernet key (32 bytes, url-safe base64)."""
    from cryptography.fernet import Fernet

    if not keys:
        raise ConfigError("PAYOUT_DETAILS_KEYS needs at least one key")
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"PAYOUT_DETAILS_KEYS: key {number} is not a Fernet key (32 bytes in url-safe base64, "
                "as Fernet.generate_key() makes)"
            ) from exc


def _b64url_decode(text):
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data):
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_vapid_keys():
    """A fresh VAPID pair, (public, private) in the form VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY take."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return _b64url(public), _b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_public_key_of(private):
    """The public key (base64url, uncompressed point) of a VAPID_PRIVATE_KEY, or None when it is
    not a raw P-256 private key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        raw = _b64url_decode(private)
        if len(raw) != 32:
            return None
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        return None
    return _b64url(key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def default_vapid_subject(settings):
    """The site's address when it is https, else the sender address of its emails."""
    base = settings["PUBLIC_BASE_URL"]
    if base.startswith("https://"):
        return base
    sender = settings["MAIL_DEFAULT_SENDER"]
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return f"mailto:{address}"


def check_vapid(settings):
    public, private = settings["VAPID_PUBLIC_KEY"], settings["VAPID_PRIVATE_KEY"]
    if bool(public) != bool(private):
        raise ConfigError("set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither (push off)")
    if private and vapid_public_key_of(private) != public.rstrip("="):
        raise ConfigError(
            "VAPID_PRIVATE_KEY must be a raw P-256 private key in base64url and VAPID_PUBLIC_KEY its "
            "public key, as `flask vapid-keys` prints them"
        )
    if not settings["VAPID_SUBJECT"].startswith(("mailto:", "https://")):
        raise ConfigError("VAPID_SUBJECT must be a mailto: or https:// address")
    if settings["PUSH_TIMEOUT_SECONDS"] < 1:
        raise ConfigError("PUSH_TIMEOUT_SECONDS must be at least 1")


class Config:
    """Defaults shared by every environment: the embedded mode of ``make run``."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    @classmethod
    def load(cls):
        """Return a dict of settings read from the environment now."""
        instance = Path(env_str("PEERLEARN_INSTANCE_DIR", str(INSTANCE_DIR)))
        redis_url = env_str("REDIS_URL")
        database_url = env_str("DATABASE_URL") or cls.default_database_url(instance)
        settings = {
            "ENV_NAME": cls.ENV_NAME,
            "DEBUG": cls.DEBUG,
            "TESTING": cls.TESTING,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEY": env_str("SECRET_KEY") or cls.default_secret_key(instance),
            # Fernet keys for mentors' payout details (encrypted at rest): the first encrypts,
            # every one decrypts, so a new key goes first and `flask rotate-payout-key` moves the
            # stored details to it before an old key is dropped.
            "PAYOUT_DETAILS_KEYS": env_list("PAYOUT_DETAILS_KEYS") or cls.default_payout_keys(instance),
            "SERVER_NAME": env_str("SERVER_NAME"),
            "PREFERRED_URL_SCHEME": env_str("PREFERRED_URL_SCHEME", "http"),
            # Every absolute link (emails, calendar feed, API) is built on it, never on the Host
            # header a request sends. Unset outside production: where `flask serve` listens.
            "PUBLIC_BASE_URL": public_base_url(env_str("PUBLIC_BASE_URL") or cls.default_public_base_url()),
            # How many reverse proxies set X-Forwarded-For/-Proto/-Host in front of the app.
            "PROXY_COUNT": env_int("PROXY_COUNT", 0),
            # Database
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
            "SQLALCHEMY_ENGINE_OPTIONS": cls.engine_options(database_url),
            # Web sessions (the cookie only carries a random id; the record lives in the database)
            "SESSION_COOKIE_NAME": "peerlearn_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": env_bool("SESSION_COOKIE_SECURE", cls.ENV_NAME == "production"),
            "PERMANENT_SESSION_LIFETIME": timedelta(days=env_int("SESSION_LIFETIME_DAYS", 14)),
            # A remembered sign-in's record ends when it was started plus the lifetime (it never
            # slides), so re-signing its cookie on every request would only cost a signature and
            # a Set-Cookie each time: the cookie is written when the session changes.
            "SESSION_REFRESH_EACH_REQUEST": False,
            "API_TOKEN_LIFETIME_DAYS": env_int("API_TOKEN_LIFETIME_DAYS", 30),
            # Account tokens
            "EMAIL_VERIFICATION_HOURS": env_int("EMAIL_VERIFICATION_HOURS", 48),
            "PASSWORD_RESET_MINUTES": env_int("PASSWORD_RESET_MINUTES", 60),
            "PASSWORD_MIN_LENGTH": 8,
            # Argon2id cost; tests lower it to keep the suite fast.
            "ARGON2_TIME_COST": env_int("ARGON2_TIME_COST", 3),
            "ARGON2_MEMORY_COST": env_int("ARGON2_MEMORY_COST", 65536),
            # Password hashes computed at once per process, in OS threads under gevent so a burst
            # of sign-ins never stalls the event loop (by default one per two CPUs, so requests
            # keep a core). PASSWORD_HASH_OFFLOAD=false hashes on the loop (benches compare).
            "PASSWORD_HASH_CONCURRENCY": env_int(
                "PASSWORD_HASH_CONCURRENCY", max(1, (os.cpu_count() or 2) // 2)
            ),
            "PASSWORD_HASH_OFFLOAD": env_bool("PASSWORD_HASH_OFFLOAD", True),
            # CPU priority (nice, 0-19) of those OS threads and the image and ranking ones
            # (services/offload.py): the event loops go first when the cores are busy.
            "OFFLOAD_NICENESS": env_int("OFFLOAD_NICENESS", 10),
            # Seconds a cached fragment of a public page lives at most (services/fragments.py):
            # data changes show at once; this bounds what changes with the clock alone.
            "FRAGMENT_TTL_SECONDS": env_int("FRAGMENT_TTL_SECONDS", 30),
            # Forms and CSRF: checked in a before_request hook so bearer-token calls are exempt.
            "WTF_CSRF_CHECK_DEFAULT": False,
            "WTF_CSRF_TIME_LIMIT": None,
            # Uploads
            "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
            "UPLOAD_DIR": env_str("UPLOAD_DIR", str(instance / "uploads")),
            "AVATAR_MAX_BYTES": 5 * 1024 * 1024,
            "AVATAR_MAX_PIXELS": env_int("AVATAR_MAX_PIXELS", 25_000_000),
            "AVATAR_SIZE": 512,
            # Image decodes at once per process (each may take 100+ MB for a large photo; by default
            # half the CPUs, at most 2, so requests keep a CPU); an upload waits this long for one to
            # come free, then is told to try again (503).
            "IMAGE_DECODE_CONCURRENCY": env_int(
                "IMAGE_DECODE_CONCURRENCY", min(2, max(1, (os.cpu_count() or 2) // 2))
            ),
            "IMAGE_DECODE_WAIT_SECONDS": env_int("IMAGE_DECODE_WAIT_SECONDS", 5),
            # Profile photos and session covers one account may upload (together).
            "UPLOAD_LIMIT": env_str("UPLOAD_LIMIT", "10 per hour"),
            # Where stored files (photos, covers) live: "local" (UPLOAD_DIR) or "s3", a bucket of
            # any S3-compatible service that every web process and worker shares.
            "STORAGE_BACKEND": env_str("STORAGE_BACKEND", "local"),
            "S3_BUCKET": env_str("S3_BUCKET"),
            # Unset: AWS itself; set for MinIO, Ceph, R2, Spaces and the like.
            "S3_ENDPOINT_URL": env_str("S3_ENDPOINT_URL"),
            "S3_REGION": env_str("S3_REGION"),
            # Unset: boto3's own sources (its environment variables, ~/.aws, an instance role).
            "S3_ACCESS_KEY_ID": env_str("S3_ACCESS_KEY_ID"),
            "S3_SECRET_ACCESS_KEY": env_str("S3_SECRET_ACCESS_KEY"),
            # Keys start with this (say "peerlearn/"), so one bucket can hold several installs.
            "S3_PREFIX": env_str("S3_PREFIX", ""),
            # Connecting to the bucket and waiting for each answer give up after this long.
            "S3_TIMEOUT_SECONDS": env_int("S3_TIMEOUT_SECONDS", 10),
            # `flask backup create`: where archives go, and how many (and how old) are kept.
            "BACKUP_DIR": env_str("BACKUP_DIR", str(instance / "backups")),
            "BACKUP_KEEP": env_int("BACKUP_KEEP", 14),
            "BACKUP_MAX_AGE_DAYS": env_int("BACKUP_MAX_AGE_DAYS", 30),
            # Redis, Socket.IO and jobs
            "REDIS_URL": redis_url,
            "SOCKETIO_ASYNC_MODE": env_str("SOCKETIO_ASYNC_MODE", cls.default_async_mode()),
            "SOCKETIO_MESSAGE_QUEUE": env_str("SOCKETIO_MESSAGE_QUEUE", redis_url),
            # Pub/sub channel on that queue; deployments sharing one Redis each need their own.
            "SOCKETIO_CHANNEL": env_str("SOCKETIO_CHANNEL", "flask-socketio"),
            # Extra browser origins allowed to open sockets (comma-separated); same-origin only by default.
            "SOCKETIO_CORS_ORIGINS": env_list("SOCKETIO_CORS_ORIGINS"),
            "JOBS_INLINE": env_bool("JOBS_INLINE", redis_url is None),
            "JOBS_AFTER_RESPONSE": env_bool("JOBS_AFTER_RESPONSE", True),
            "RQ_JOB_TIMEOUT": env_int("RQ_JOB_TIMEOUT", 180),
            # How long a send job's claim on an email keeps other runs off it; longer than a job may run.
            "EMAIL_CLAIM_SECONDS": env_int("EMAIL_CLAIM_SECONDS", 240),
            # Social notification email (docs/notifications.md#email-caps): at most this many an hour
            # from one person to one recipient, and to one recipient in all (0: no cap); an email
            # about something that can be undone (a follow, a request) waits this long first.
            "EMAIL_CAP_PER_SENDER_PER_HOUR": env_int("EMAIL_CAP_PER_SENDER_PER_HOUR", 3),
            "EMAIL_CAP_PER_RECIPIENT_PER_HOUR": env_int("EMAIL_CAP_PER_RECIPIENT_PER_HOUR", 20),
            "EMAIL_HOLD_SECONDS": env_int("EMAIL_HOLD_SECONDS", 120),
            # A full recommendations rebuild runs when the last one is older than this.
            "RECOMMENDATIONS_REBUILD_MINUTES": env_int("RECOMMENDATIONS_REBUILD_MINUTES", 60),
            # Threads the rebuild's linear algebra may use.
            "RECOMMENDER_THREADS": env_int("RECOMMENDER_THREADS", 1),
            # Rate limits
            "RATELIMIT_ENABLED": env_bool("RATELIMIT_ENABLED", True),
            "RATELIMIT_STORAGE_URI": env_str(
                "RATELIMIT_STORAGE_URI", redis_url if redis_url else "memory://"
            ),
            # While the storage is unreachable limits count in memory; it is asked again this often.
            "RATELIMIT_RECHECK_SECONDS": env_int("RATELIMIT_RECHECK_SECONDS", 5),
            "LOGIN_LIMIT_PER_ACCOUNT": env_str("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
            "LOGIN_LIMIT_PER_IP": env_str("LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
            "REGISTER_LIMIT_PER_IP": env_str("REGISTER_LIMIT_PER_IP", "10 per hour"),
            "RESET_LIMIT_PER_ACCOUNT": env_str("RESET_LIMIT_PER_ACCOUNT", "3 per hour"),
            "RESET_LIMIT_PER_IP": env_str("RESET_LIMIT_PER_IP", "20 per hour"),
            # Skill suggestion requests per client address (the skills box asks as people type).
            "SKILL_SUGGEST_LIMIT_PER_IP": env_str("SKILL_SUGGEST_LIMIT_PER_IP", "300 per minute"),
            # Email
            "MAIL_BACKEND": env_str("MAIL_BACKEND", "smtp" if env_str("MAIL_SERVER") else "log"),
            # Sending is switched by MAIL_BACKEND, never silently by the testing flag.
            "MAIL_SUPPRESS_SEND": False,
            "MAIL_SERVER": env_str("MAIL_SERVER", "localhost"),
            "MAIL_PORT": env_int("MAIL_PORT", 25),
            "MAIL_USE_TLS": env_bool("MAIL_USE_TLS"),
            "MAIL_USE_SSL": env_bool("MAIL_USE_SSL"),
            "MAIL_USERNAME": env_str("MAIL_USERNAME"),
            "MAIL_PASSWORD": env_str("MAIL_PASSWORD"),
            "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", "PeerLearn <no-reply@peerlearn.local>"),
            # Product
            "DEFAULT_TIMEZONE": env_str("DEFAULT_TIMEZONE", "Asia/Kolkata"),
            # Marketplace rules
            "PLATFORM_FEE_PERCENT": env_int("PLATFORM_FEE_PERCENT", 12),
            "BOOKING_HOLD_MINUTES": env_int("BOOKING_HOLD_MINUTES", 15),
            # A seat offered to the first learner on a waitlist is held this long (never past the start).
            "WAITLIST_CLAIM_MINUTES": env_int("WAITLIST_CLAIM_MINUTES", 30),
            # A session request waits this long for the mentor, then (accepted) for the learner.
            "REQUEST_EXPIRY_DAYS": env_int("REQUEST_EXPIRY_DAYS", 7),
            "FULL_REFUND_HOURS": env_int("FULL_REFUND_HOURS", 24),
            "LATE_CANCEL_REFUND_PERCENT": env_int("LATE_CANCEL_REFUND_PERCENT", 0),
            "SWEEP_INTERVAL_SECONDS": env_int("SWEEP_INTERVAL_SECONDS", 60),
            # Trust: a session is held when its mentor was in the room for this share of its slot;
            # otherwise every learner is refunded in full and the mentor gets a strike.
            "HELD_MIN_PERCENT": env_int("HELD_MIN_PERCENT", 50),
            # A held session's earnings stay pending (and learners may report a problem) this long
            # after its end, then become available to pay out.
            "SETTLEMENT_HOURS": env_int("SETTLEMENT_HOURS", 48),
            # This many strikes within STRIKE_WINDOW_DAYS suspend publishing until an admin lifts it.
            "STRIKE_LIMIT": env_int("STRIKE_LIMIT", 3),
            "STRIKE_WINDOW_DAYS": env_int("STRIKE_WINDOW_DAYS", 90),
            # List only the sessions of mentors an admin has verified (search, recommendations).
            "LIST_VERIFIED_MENTORS_ONLY": env_bool("LIST_VERIFIED_MENTORS_ONLY", False),
            # Reviews: only learners present for this share of the session's slot, for this many
            # days after its end.
            "REVIEW_MIN_ATTENDANCE_PERCENT": env_int("REVIEW_MIN_ATTENDANCE_PERCENT", 50),
            "REVIEW_WINDOW_DAYS": env_int("REVIEW_WINDOW_DAYS", 14),
            # The live room: open from this long before the start until the end plus the grace.
            "ROOM_OPENS_MINUTES": env_int("ROOM_OPENS_MINUTES", 15),
            "ROOM_GRACE_MINUTES": env_int("ROOM_GRACE_MINUTES", 30),
            # Per-user limits of the room's socket events by group, e.g. {"chat": "20 per 10 seconds"}.
            "ROOM_RATE_LIMITS": env_json("ROOM_RATE_LIMITS", {}),
            # 0: a socket's sign-in record is read on every event. Otherwise the identity read at
            # connect is kept until the sign-in ends (told to every process) or expires.
            "SOCKET_AUTH_RECHECK_SECONDS": env_int("SOCKET_AUTH_RECHECK_SECONDS", 5),
            # STUN/TURN servers for WebRTC, as RTCIceServer objects. Empty: host candidates only
            # (fine on one network or loopback); add TURN for learners behind strict NATs.
            "ICE_SERVERS": env_json("ICE_SERVERS", []),
            # With TURN_SECRET (coturn's static-auth-secret), participants get short-lived TURN
            # credentials for TURN_URLS instead of static ones.
            "TURN_SECRET": env_str("TURN_SECRET"),
            "TURN_URLS": env_list("TURN_URLS") or [],
            "TURN_TTL_SECONDS": env_int("TURN_TTL_SECONDS", 6 * 3600),
            # Where the room's audio and video go: "auto" (Janus when JANUS_INSTANCES is set or
            # `make run` finds a local Janus, else browser to browser), "janus" or "mesh".
            "ROOM_MEDIA": env_str("ROOM_MEDIA", "auto"),
            # Janus servers, as a JSON list of {"name", "api", "admin", "public"}: the HTTP API and
            # admin API the app uses, and the WebSocket URL browsers use. A room lives on one.
            "JANUS_INSTANCES": env_json("JANUS_INSTANCES", []),
            # Shared with every instance: janus.jcfg's token_auth_secret and admin_secret, and the
            # VideoRoom plugin's admin_key (only the app may create rooms).
            "JANUS_TOKEN_SECRET": env_str("JANUS_TOKEN_SECRET"),
            "JANUS_ADMIN_SECRET": env_str("JANUS_ADMIN_SECRET"),
            "JANUS_ADMIN_KEY": env_str("JANUS_ADMIN_KEY"),
            "JANUS_TIMEOUT_SECONDS": env_int("JANUS_TIMEOUT_SECONDS", 5),
            # A room token lets its holder join once, within this many seconds.
            "JANUS_ROOM_TOKEN_SECONDS": env_int("JANUS_ROOM_TOKEN_SECONDS", 60),
            # The most a publisher may send (bits/s); simulcast layers share it.
            "JANUS_BITRATE": env_int("JANUS_BITRATE", 1_500_000),
            # The local Janus of `make run`: its binary (default `janus` on PATH), the addresses its
            # ICE may use (all but loopback by default; tests pin 127.0.0.2) and its UDP ports.
            "JANUS_BINARY": env_str("JANUS_BINARY"),
            "JANUS_ICE_ENFORCE_LIST": env_str("JANUS_ICE_ENFORCE_LIST"),
            "JANUS_RTP_PORT_RANGE": env_str("JANUS_RTP_PORT_RANGE", "40000-40999"),
            # Where Janus writes a recorded session's raw feeds (.mjr), one folder per session,
            # until the composing job makes the file. Janus writes here itself: with a Janus on
            # another machine, a folder both see.
            "RECORDINGS_RAW_DIR": env_str("RECORDINGS_RAW_DIR", str(instance / "recordings" / "raw")),
            # Where the composing job works on a recording (its intermediate files, kept until the
            # file is stored, so a killed job resumes), one folder per recording.
            "RECORDINGS_WORK_DIR": env_str("RECORDINGS_WORK_DIR", str(instance / "recordings" / "work")),
            # The composing job's own timeout (seconds): an hour's session takes minutes of ffmpeg.
            "RECORDINGS_JOB_TIMEOUT": env_int("RECORDINGS_JOB_TIMEOUT", 2 * 3600),
            # A recording pending this long is handed to the queue again (its job was lost).
            "RECORDINGS_STALLED_MINUTES": env_int("RECORDINGS_STALLED_MINUTES", 30),
            # The composed file: "mp4" (H.264/AAC: the quicker to make, and plays everywhere) or
            # "webm" (VP8/Opus).
            "RECORDINGS_CONTAINER": env_str("RECORDINGS_CONTAINER", "mp4"),
            # A ready recording is deleted this many days after it was made.
            "RECORDING_RETENTION_DAYS": env_int("RECORDING_RETENTION_DAYS", 90),
            # Behind nginx: the internal location aliasing UPLOAD_DIR (deploy/nginx/peerlearn.conf),
            # e.g. "/_protected/uploads/". Set, a recording's file is handed to nginx with
            # X-Accel-Redirect after the app's checks; unset, the app sends the bytes itself.
            "RECORDINGS_ACCEL_REDIRECT": env_str("RECORDINGS_ACCEL_REDIRECT"),
            # Rooms for more people than this (mentor included, by confirmed bookings) run as a
            # stage: learners join with camera and microphone off and speak when brought on stage.
            "ROOM_STAGE_THRESHOLD": env_int("ROOM_STAGE_THRESHOLD", 8),
            # Browser-to-browser rooms send every camera to everyone: at most this many cameras.
            "MESH_MAX_CAMERAS": env_int("MESH_MAX_CAMERAS", 4),
            # Production opens no room without Janus unless this allows the browser mesh.
            "ALLOW_MESH_ROOMS": env_bool("ALLOW_MESH_ROOMS", cls.ENV_NAME != "production"),
            # Gifts in the room, in paise: the amounts offered, and the range of one's own amount.
            "GIFT_PRESETS_PAISE": env_json("GIFT_PRESETS_PAISE", [5000, 10000, 20000, 50000]),
            "GIFT_MIN_PAISE": env_int("GIFT_MIN_PAISE", 1000),
            "GIFT_MAX_PAISE": env_int("GIFT_MAX_PAISE", 1_000_000),
            "GIFT_LIMIT_PER_USER": env_str("GIFT_LIMIT_PER_USER", "20 per hour"),
            # Payments: Razorpay when keys are set, otherwise the local dev gateway.
            "RAZORPAY_KEY_ID": env_str("RAZORPAY_KEY_ID"),
            "RAZORPAY_KEY_SECRET": env_str("RAZORPAY_KEY_SECRET"),
            "RAZORPAY_WEBHOOK_SECRET": env_str("RAZORPAY_WEBHOOK_SECRET"),
            "RAZORPAY_BASE_URL": env_str("RAZORPAY_BASE_URL"),
            "RAZORPAY_TIMEOUT_SECONDS": env_int("RAZORPAY_TIMEOUT_SECONDS", 10),
            # Only for trying a production setup without real payments: the local test checkout.
            "ALLOW_DEV_GATEWAY": env_bool("ALLOW_DEV_GATEWAY", cls.ENV_NAME != "production"),
            "RAZORPAY_CHECKOUT_URL": env_str(
                "RAZORPAY_CHECKOUT_URL", "https://checkout.razorpay.com/v1/checkout.js"
            ),
            "DEV_OUTBOX_ENABLED": cls.ENV_NAME != "production",
            "LOG_LEVEL": env_str("LOG_LEVEL", "INFO"),
            # text: one readable line per record; json: one JSON object per line, for a log
            # collector. Both carry the request id (peerlearn.logs).
            "LOG_FORMAT": env_str("LOG_FORMAT", "text").strip().lower(),
            # Errors go to this Sentry project too when set (sentry-sdk is imported only then).
            "SENTRY_DSN": env_str("SENTRY_DSN"),
            # /metrics answers these client addresses (after PROXY_COUNT proxies), and anyone
            # sending `Authorization: Bearer <METRICS_TOKEN>` when a token is set; others get a 404.
            "METRICS_ALLOWED_IPS": env_list("METRICS_ALLOWED_IPS") or ["127.0.0.1", "::1"],
            "METRICS_TOKEN": env_str("METRICS_TOKEN"),
            # /readyz: a cron scheduler heartbeat older than this counts as down (it beats at
            # least once a minute).
            "READYZ_HEARTBEAT_SECONDS": env_int("READYZ_HEARTBEAT_SECONDS", 120),
            "READYZ_WORKER_GRACE_SECONDS": env_int("READYZ_WORKER_GRACE_SECONDS", 60),
            # Outgoing webhooks (services.webhooks): plain http and private or loopback addresses
            # only where this allows them (development and tests), never by default in production.
            "WEBHOOKS_ALLOW_LOCAL_URLS": env_bool("WEBHOOKS_ALLOW_LOCAL_URLS", cls.ENV_NAME != "production"),
            # Pauses before each retry of a failed delivery, in seconds (jittered by 10 %); after the
            # last one the delivery is failed. 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h, 24 h.
            "WEBHOOK_RETRY_SECONDS": env_json(
                "WEBHOOK_RETRY_SECONDS", [60, 300, 1800, 7200, 21600, 43200, 86400, 86400]
            ),
            # Failed attempts in a row that disable an endpoint (its owner is told).
            "WEBHOOK_DISABLE_AFTER_FAILURES": env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 15),
            "WEBHOOK_CONNECT_TIMEOUT_SECONDS": env_int("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 5),
            "WEBHOOK_TIMEOUT_SECONDS": env_int("WEBHOOK_TIMEOUT_SECONDS", 10),
            # Web Push (services/push.py): the VAPID key pair that signs every push, as
            # `flask vapid-keys` prints it (base64url: the raw 32-byte private key, the 65-byte
            # public point). Push is off when unset; `make run` keeps a pair under instance/.
            **cls.vapid_keys(instance),
            # Who push services may contact about this site's pushes: mailto: or https:.
            "VAPID_SUBJECT": env_str("VAPID_SUBJECT"),
            "PUSH_TIMEOUT_SECONDS": env_int("PUSH_TIMEOUT_SECONDS", 10),
            # Push endpoints are posted to as browsers send them: https to public addresses only,
            # unless this allows plain http and local addresses (development and tests).
            "PUSH_ALLOW_LOCAL_ENDPOINTS": env_bool(
                "PUSH_ALLOW_LOCAL_ENDPOINTS", cls.ENV_NAME != "production"
            ),
        }
        if settings["VAPID_SUBJECT"] is None:
            settings["VAPID_SUBJECT"] = default_vapid_subject(settings)
        cls.check(settings)
        return settings

    @staticmethod
    def default_database_url(instance):
        return f"sqlite:///{instance / 'peerlearn.sqlite3'}"

    @staticmethod
    def default_async_mode():
        return "threading"

    @staticmethod
    def default_public_base_url():
        """Where `flask serve` (and so `make run`) listens: HOST and PORT, as its options default."""
        return served_url(env_str("HOST", "127.0.0.1"), env_int("PORT", 5000))

    @staticmethod
    def engine_options(url):
        # No pool_pre_ping: its SELECT 1 on every checkout is a round trip per request and per
        # live-room event; peerlearn.dbpool checks the pooled connection's socket instead.
        return {}

    @staticmethod
    def default_secret_key(instance):
        """A per-install key kept under ``instance/``, so embedded runs keep their sessions."""
        path = instance / "secret_key"
        if path.exists():
            return path.read_text().strip()
        import secrets

        instance.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key

    @staticmethod
    def default_payout_keys(instance):
        """A per-install Fernet key kept under ``instance/``, like the secret key."""
        path = instance / "payout_details_key"
        if path.exists():
            return [path.read_text().strip()]
        from cryptography.fernet import Fernet

        instance.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key().decode()
        path.write_text(key)
        path.chmod(0o600)
        return [key]

    @classmethod
    def vapid_keys(cls, instance):
        public, private = env_str("VAPID_PUBLIC_KEY"), env_str("VAPID_PRIVATE_KEY")
        if public is None and private is None:
            public, private = cls.default_vapid_keys(instance)
        return {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private}

    @staticmethod
    def default_vapid_keys(instance):
        """A per-install VAPID pair kept under ``instance/``, like the secret key: browsers
        subscribed with its public key stay subscribed across restarts."""
        path = instance / "vapid_keys.json"
        if path.exists():
            kept = json.loads(path.read_text())
            return kept["public"], kept["private"]
        public, private = new_vapid_keys()
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"public": public, "private": private}))
        path.chmod(0o600)
        return public, private

    @classmethod
    def check(cls, settings):
        """Refuse settings that cannot run; subclasses add their own rules."""
        if settings["SOCKETIO_ASYNC_MODE"] not in {"threading", "gevent", "eventlet"}:
            raise ConfigError("SOCKETIO_ASYNC_MODE must be threading, gevent or eventlet")
        if settings["LOG_FORMAT"] not in {"text", "json"}:
            raise ConfigError("LOG_FORMAT must be text or json")
        if settings["MAIL_BACKEND"] not in {"log", "smtp"}:
            raise ConfigError("MAIL_BACKEND must be log or smtp")
        if not settings["JOBS_INLINE"] and not settings["REDIS_URL"]:
            raise ConfigError("JOBS_INLINE=false needs REDIS_URL: queued jobs live in Redis")
        if settings["PROXY_COUNT"] < 0:
            raise ConfigError("PROXY_COUNT cannot be negative")
        if not 0 <= settings["PLATFORM_FEE_PERCENT"] <= 100:
            raise ConfigError("PLATFORM_FEE_PERCENT must be between 0 and 100")
        if not 0 <= settings["LATE_CANCEL_REFUND_PERCENT"] <= 100:
            raise ConfigError("LATE_CANCEL_REFUND_PERCENT must be between 0 and 100")
        if settings["BOOKING_HOLD_MINUTES"] < 1:
            raise ConfigError("BOOKING_HOLD_MINUTES must be at least 1")
        if settings["WAITLIST_CLAIM_MINUTES"] < 1:
            raise ConfigError("WAITLIST_CLAIM_MINUTES must be at least 1")
        if settings["REQUEST_EXPIRY_DAYS"] < 1:
            raise ConfigError("REQUEST_EXPIRY_DAYS must be at least 1")
        if settings["FULL_REFUND_HOURS"] < 0:
            raise ConfigError("FULL_REFUND_HOURS cannot be negative")
        if not 0 <= settings["REVIEW_MIN_ATTENDANCE_PERCENT"] <= 100:
            raise ConfigError("REVIEW_MIN_ATTENDANCE_PERCENT must be between 0 and 100")
        if settings["REVIEW_WINDOW_DAYS"] < 1:
            raise ConfigError("REVIEW_WINDOW_DAYS must be at least 1")
        presets = settings["GIFT_PRESETS_PAISE"]
        if not isinstance(presets, list) or not all(type(p) is int and p >= 100 for p in presets):
            raise ConfigError("GIFT_PRESETS_PAISE must be a JSON list of amounts in paise (>= 100)")
        if not 100 <= settings["GIFT_MIN_PAISE"] <= settings["GIFT_MAX_PAISE"]:
            raise ConfigError("GIFT_MIN_PAISE must be at least 100 and at most GIFT_MAX_PAISE")
        if not isinstance(settings["ROOM_RATE_LIMITS"], dict):
            raise ConfigError('ROOM_RATE_LIMITS must be a JSON object such as {"chat": "20 per 10 seconds"}')
        if not isinstance(settings["ICE_SERVERS"], list):
            raise ConfigError("ICE_SERVERS must be a JSON list of RTCIceServer objects")
        cls.check_media(settings)
        if not 1 <= settings["HELD_MIN_PERCENT"] <= 100:
            raise ConfigError("HELD_MIN_PERCENT must be between 1 and 100")
        if settings["SETTLEMENT_HOURS"] < 0:
            raise ConfigError("SETTLEMENT_HOURS cannot be negative")
        if settings["STRIKE_LIMIT"] < 1 or settings["STRIKE_WINDOW_DAYS"] < 1:
            raise ConfigError("STRIKE_LIMIT and STRIKE_WINDOW_DAYS must be at least 1")
        if settings["IMAGE_DECODE_CONCURRENCY"] < 1:
            raise ConfigError("IMAGE_DECODE_CONCURRENCY must be at least 1")
        if settings["FRAGMENT_TTL_SECONDS"] < 0:
            raise ConfigError("FRAGMENT_TTL_SECONDS cannot be negative")
        if not 0 <= settings["OFFLOAD_NICENESS"] <= 19:
            raise ConfigError("OFFLOAD_NICENESS must be between 0 and 19")
        if settings["PASSWORD_HASH_CONCURRENCY"] < 1:
            raise ConfigError("PASSWORD_HASH_CONCURRENCY must be at least 1")
        if settings["IMAGE_DECODE_WAIT_SECONDS"] < 0:
            raise ConfigError("IMAGE_DECODE_WAIT_SECONDS cannot be negative")
        cls.check_storage(settings)
        if settings["BACKUP_KEEP"] < 1 or settings["BACKUP_MAX_AGE_DAYS"] < 1:
            raise ConfigError("BACKUP_KEEP and BACKUP_MAX_AGE_DAYS must be at least 1")
        if settings["READYZ_WORKER_GRACE_SECONDS"] < 0:
            raise ConfigError("READYZ_WORKER_GRACE_SECONDS must be 0 or more")
        if settings["READYZ_HEARTBEAT_SECONDS"] < 90:
            raise ConfigError("READYZ_HEARTBEAT_SECONDS must be at least 90 (cron beats once a minute)")
        if settings["SWEEP_INTERVAL_SECONDS"] < 5:
            raise ConfigError("SWEEP_INTERVAL_SECONDS must be at least 5")
        if bool(settings["RAZORPAY_KEY_ID"]) != bool(settings["RAZORPAY_KEY_SECRET"]):
            raise ConfigError("set both RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET, or neither")
        check_payout_keys(settings["PAYOUT_DETAILS_KEYS"])
        check_vapid(settings)

    @staticmethod
    def check_storage(settings):
        if settings["RECORDINGS_CONTAINER"] not in {"webm", "mp4"}:
            raise ConfigError("RECORDINGS_CONTAINER must be webm or mp4")
        if settings["RECORDING_RETENTION_DAYS"] < 1:
            raise ConfigError("RECORDING_RETENTION_DAYS must be at least 1")
        if settings["STORAGE_BACKEND"] not in {"local", "s3"}:
            raise ConfigError("STORAGE_BACKEND must be local or s3")
        if settings["STORAGE_BACKEND"] == "s3" and not settings["S3_BUCKET"]:
            raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if bool(settings["S3_ACCESS_KEY_ID"]) != bool(settings["S3_SECRET_ACCESS_KEY"]):
            raise ConfigError("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither")
        if settings["S3_TIMEOUT_SECONDS"] < 1:
            raise ConfigError("S3_TIMEOUT_SECONDS must be at least 1")

    @staticmethod
    def check_media(settings):
        if settings["ROOM_MEDIA"] not in {"auto", "janus", "mesh"}:
            raise ConfigError("ROOM_MEDIA must be auto, janus or mesh")
        instances = settings["JANUS_INSTANCES"]
        if not isinstance(instances, list) or not all(isinstance(item, dict) for item in instances):
            raise ConfigError(
                'JANUS_INSTANCES must be a JSON list of {"name", "api", "admin", "public"} objects'
            )
        for item in instances:
            missing = [key for key in ("name", "api", "admin", "public") if not item.get(key)]
            if missing:
                raise ConfigError(f"a JANUS_INSTANCES entry lacks {', '.join(missing)}")
        names = [item["name"] for item in instances]
        if len(set(names)) != len(names):
            raise ConfigError("JANUS_INSTANCES names must differ")
        if instances:
            for name in ("JANUS_TOKEN_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ADMIN_KEY"):
                if not settings[name]:
                    raise ConfigError(f"{name} must be set when JANUS_INSTANCES is")
        if settings["ROOM_STAGE_THRESHOLD"] < 1:
            raise ConfigError("ROOM_STAGE_THRESHOLD must be at least 1 (1: every room is a stage)")
        if settings["MESH_MAX_CAMERAS"] < 2:
            raise ConfigError("MESH_MAX_CAMERAS must be at least 2")
        if not 10 <= settings["JANUS_ROOM_TOKEN_SECONDS"] <= 3600:
            raise ConfigError("JANUS_ROOM_TOKEN_SECONDS must be between 10 and 3600")


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    @classmethod
    def load(cls):
        settings = super().load()
        settings.update(
            SQLALCHEMY_DATABASE_URI=normalise_database_url(env_str("TEST_DATABASE_URL", "sqlite://")),
            SQLALCHEMY_ENGINE_OPTIONS=cls.engine_options(env_str("TEST_DATABASE_URL", "sqlite://")),
            SECRET_KEY="testing-secret-key",  # noqa: S106 - the test config only
            ARGON2_TIME_COST=1,
            ARGON2_MEMORY_COST=1024,
            JOBS_INLINE=True,
            # Tests read a request's emails as soon as it answers (one test turns this back on).
            JOBS_AFTER_RESPONSE=False,
            REDIS_URL=None,
            SOCKETIO_MESSAGE_QUEUE=None,
            RATELIMIT_STORAGE_URI="memory://",
            MAIL_BACKEND="log",
            SERVER_NAME=None,
            # The test client's address, whatever the environment says.
            PUBLIC_BASE_URL="http://localhost",
            RAZORPAY_KEY_ID=None,
            RAZORPAY_KEY_SECRET=None,
            RAZORPAY_WEBHOOK_SECRET=None,
            RAZORPAY_BASE_URL=None,
            JANUS_INSTANCES=[],
            JANUS_TOKEN_SECRET=None,
            JANUS_ADMIN_SECRET=None,
            JANUS_ADMIN_KEY=None,
            # Files go to the test's own folder unless a test points them at a bucket.
            STORAGE_BACKEND="local",
        )
        return settings

    @staticmethod
    def default_secret_key(instance):
        return "testing-secret-key"

    @staticmethod
    def default_payout_keys(instance):
        # Fixed, like the secret key: tests build many apps and never write to instance/.
        return [TESTING_PAYOUT_KEY]

    @staticmethod
    def default_vapid_keys(instance):
        # Push off unless a test turns it on with keys of its own.
        return None, None


class ProductionConfig(Config):
    ENV_NAME = "production"

    @staticmethod
    def default_database_url(instance):
        raise ConfigError("DATABASE_URL must be set in production")

    @staticmethod
    def default_secret_key(instance):
        raise ConfigError("SECRET_KEY must be set in production")

    @staticmethod
    def default_payout_keys(instance):
        raise ConfigError(
            "PAYOUT_DETAILS_KEYS must be set in production: mentors' payout details are encrypted "
            'with it. Generate a key with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"` and keep it safe: details encrypted with a lost '
            "key cannot be read."
        )

    @staticmethod
    def default_vapid_keys(instance):
        # Push is optional: off until VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set.
        return None, None

    @staticmethod
    def default_async_mode():
        return "gevent"

    @staticmethod
    def default_public_base_url():
        raise ConfigError(
            "PUBLIC_BASE_URL must be set in production, to the address people open the site at "
            "(such as https://learn.example.org): links in emails, the calendar feed and the API are "
            "built on it, never on the Host header a request sends"
        )

    @classmethod
    def check(cls, settings):
        super().check(settings)
        if len(settings["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        if settings["ROOM_MEDIA"] == "janus" and not settings["JANUS_INSTANCES"]:
            raise ConfigError("ROOM_MEDIA=janus needs JANUS_INSTANCES in production (no local Janus there)")
        if not settings["RAZORPAY_KEY_ID"] and not settings["ALLOW_DEV_GATEWAY"]:
            raise ConfigError(
                "set RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET in production (or ALLOW_DEV_GATEWAY=true "
                "to try it with the local test checkout, where no money moves)"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name=None):
    name = name or env_str("PEERLEARN_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"unknown PEERLEARN_ENV {name!r}; use one of {sorted(CONFIGS)}") from exc
