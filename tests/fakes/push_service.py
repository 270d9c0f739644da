"""A local stand-in for a browser vendor's Web Push service, so pywebpush is driven for real.

``subscribe()`` plays the browser: it makes a P-256 key pair and an auth secret, and returns the
subscription as ``PushSubscription.toJSON()`` would (an endpoint on this server, the keys in
base64url). A message posted to that endpoint is checked as a push service checks it:

- ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292): the JWT is ES256, signed by the key
  ``k`` names, which must be the application server key the stand-in was told to expect; its
  ``aud`` is the origin of the endpoint, its ``exp`` in the future and at most 24 hours away, and
  its ``sub`` a ``mailto:`` or ``https:`` address;
- ``Content-Encoding: aes128gcm`` and a ``TTL`` header (RFC 8030);
- the body decrypts (RFC 8291 and RFC 8188) with the subscription's private key and auth secret.

Checked messages are kept in ``received`` and answered 201; anything wrong is answered 400 (401
for a bad signature) and kept in ``refused`` with the reason. ``answer(endpoint, status)`` makes an
endpoint answer ``status`` instead, as a service does for a subscription it dropped (404/410).
"""

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def _hkdf(salt, ikm, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


@dataclass
class Browser:
    """One subscribed browser: its keys, which only it (and so the stand-in) holds."""

    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def public_bytes(self):
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


@dataclass
class Received:
    endpoint: str
    claims: dict
    headers: dict
    message: dict = field(default_factory=dict)


def verify_vapid(authorization, *, expected_key, audience, now):
    """The JWT's claims, once ``authorization`` is a valid VAPID header for ``audience``."""
    scheme, _, params = (authorization or "").partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, f"not a vapid Authorization header: {authorization!r}")
    values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
    token, key = values.get("t"), values.get("k")
    if not token or not key:
        raise Refused(401, "the vapid header lacks t= or k=")
    if unb64url(key) != unb64url(expected_key):
        raise Refused(401, "k is not the application server key the subscription was made with")
    try:
        header_part, claims_part, signature_part = token.split(".")
        header = json.loads(unb64url(header_part))
        claims = json.loads(unb64url(claims_part))
        signature = unb64url(signature_part)
    except ValueError as error:
        raise Refused(401, f"the JWT is malformed: {error}") from None
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise Refused(401, f"the JWT is not ES256: {header}")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{header_part}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "the JWT's signature does not verify") from None
    if claims.get("aud") != audience:
        raise Refused(401, f"aud {claims.get('aud')!r} is not the push service's origin {audience!r}")
    exp = claims.get("exp")
    if not isinstance(exp, int) or not now < exp <= now + 24 * 3600:
        raise Refused(401, f"exp {exp!r} is not in the next 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
        raise Refused(401, f"sub {claims.get('sub')!r} is not a mailto: or https: address")
    return claims


def decrypt(body, browser):
    """The plaintext of an aes128gcm body (one record) sent to ``browser``."""
    if len(body) < 21:
        raise Refused(400, "the body is too short for an aes128gcm header")
    salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    sender_key, ciphertext = body[21 : 21 + id_length], body[21 + id_length :]
    if id_length != 65 or len(ciphertext) > record_size:
        raise Refused(400, "the aes128gcm header is not one record from a P-256 sender key")
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_key)
    shared = browser.private_key.exchange(ec.ECDH(), sender)
    ikm = _hkdf(browser.auth_secret, shared, b"WebPush: info\x00" + browser.public_bytes + sender_key, 32)
    key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    try:
        padded = AESGCM(key).decrypt(nonce, ciphertext, None)
    except Exception:
        raise Refused(400, "the body does not decrypt with the subscription's keys") from None
    text = padded.rstrip(b"\x00")
    if not text.endswith(b"\x02"):
        raise Refused(400, "the last record's delimiter is missing")
    return text[:-1]


class PushServiceStandIn:
    """Start with ``start()`` (or as a context manager); ``url`` is its origin."""

    def __init__(self, application_server_key):
        self.application_server_key = application_server_key
        self.browsers = {}
        self.answers = {}
        self.received = []
        self.refused = []
        self.lock = threading.Lock()
        self.server = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def subscribe(self):
        """A new browser's subscription, as ``PushSubscription.toJSON()`` gives it."""
        browser = Browser(
            secrets.token_urlsafe(16), ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16)
        )
        self.browsers[browser.token] = browser
        return {
            "endpoint": f"{self.url}/push/{browser.token}",
            "keys": {"p256dh": b64url(browser.public_bytes), "auth": b64url(browser.auth_secret)},
        }

    def answer(self, endpoint, status):
        self.answers[endpoint.rsplit("/", 1)[-1]] = status

    def messages_to(self, endpoint):
        return [item.message for item in self.received if item.endpoint == endpoint]

    def handle(self, path, headers, body):
        token = path.rsplit("/", 1)[-1]
        browser = self.browsers.get(token) if path.startswith("/push/") else None
        if browser is None:
            raise Refused(404, f"no subscription at {path}")
        if token in self.answers:
            raise Refused(self.answers[token], "answered as told")
        claims = verify_vapid(
            headers.get("Authorization"),
            expected_key=self.application_server_key,
            audience=self.url,
            now=int(time.time()),
        )
        if headers.get("Content-Encoding") != "aes128gcm":
            raise Refused(400, f"Content-Encoding is {headers.get('Content-Encoding')!r}")
        if not (headers.get("TTL") or "").isdigit():
            raise Refused(400, "the TTL header is missing")
        message = json.loads(decrypt(body, browser))
        item = Received(f"{self.url}{path}", claims, dict(headers), message)
        with self.lock:
            self.received.append(item)

    def start(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    stand_in.handle(self.path, self.headers, body)
                    status, text = 201, b""
                except Refused as refusal:
                    if refusal.status >= 400 and str(refusal) != "answered as told":
                        with stand_in.lock:
                            stand_in.refused.append((self.path, str(refusal)))
                    status, text = refusal.status, str(refusal).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
