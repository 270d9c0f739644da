"""The installable app's files (manifest, service worker, offline page), the push API and the
`flask vapid-keys` command; what the worker does in a browser is tests/browser/test_pwa_browser.py."""

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from peerlearn.config import ConfigError, DevelopmentConfig, check_vapid, new_vapid_keys, vapid_public_key_of
from peerlearn.extensions import db
from peerlearn.models import PushSubscription
from tests.conftest import extract_csrf
from tests.fakes.push_service import PushServiceStandIn

URL = "/api/push/subscriptions/"
STATIC = Path(__file__).resolve().parents[2] / "peerlearn" / "static"


@pytest.fixture
def vapid(app):
    public, private = new_vapid_keys()
    app.config.update(VAPID_PUBLIC_KEY=public, VAPID_PRIVATE_KEY=private)
    return public


def test_the_manifest_makes_the_site_installable(client):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    assert response.headers["Cache-Control"] == "no-cache"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == manifest["short_name"] == "PeerLearn"
    assert manifest["display"] == "standalone"
    assert manifest["scope"] == "/"
    assert manifest["start_url"] == "/home"
    assert manifest["lang"] == "en"
    assert manifest["theme_color"] == "#5b3fd8"
    icons = {(icon["sizes"], icon["purpose"]): icon for icon in manifest["icons"]}
    assert set(icons) == {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    }
    for (sizes, _purpose), icon in icons.items():
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png"
        width = int.from_bytes(image.data[16:20], "big")  # the PNG's IHDR
        assert f"{width}x{width}" == sizes
        image.close()


def test_every_page_links_the_manifest_theme_colour_and_touch_icon(client):
    html = client.get("/").get_data(as_text=True)

    assert '<link rel="manifest" href="/manifest.webmanifest" data-service-worker="/sw.js">' in html
    assert '<meta name="theme-color" content="#5b3fd8">' in html
    assert '<link rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png">' in html


def test_the_service_worker_is_served_from_the_root_and_revalidated(client):
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    # A worker needs no page policy, and must not get one that forbids what it fetches.
    assert "Content-Security-Policy" not in response.headers


def test_the_service_worker_precaches_this_builds_files(app, client):
    body = client.get("/sw.js").get_data(as_text=True)
    precache = json.loads(re.search(r"^const PRECACHE = (.*);$", body, re.M).group(1))
    manifest = json.loads((STATIC / "dist" / "manifest.json").read_text())

    assert "/offline" in precache
    assert f"/static/{manifest['app.css']}" in precache
    assert f"/static/{manifest['app.js']}" in precache
    assert "/static/icons/icon-192.png" in precache
    chunks = [url for url in precache if "/chunks/" in url]
    assert chunks, "the script's own imports are precached"
    for url in precache:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()
    assert "{{" not in body and "{%" not in body


def test_a_new_build_is_a_new_worker_version(app, client, monkeypatch):
    from peerlearn.blueprints.pwa import routes

    first = re.search(r"const VERSION = (.*);", client.get("/sw.js").get_data(as_text=True)).group(1)
    monkeypatch.setattr(routes, "precache_urls", lambda: ["/offline", "/static/dist/app-NEWBUILD.js"])
    second = re.search(r"const VERSION = (.*);", client.get("/sw.js").get_data(as_text=True)).group(1)

    assert first != second


def test_the_worker_never_caches_the_api_pages_or_writes(client):
    body = client.get("/sw.js").get_data(as_text=True)

    assert 'const API_PREFIX = "/api/";' in body
    assert "if (request.method !== 'GET') return;" in body
    # Pages go to the network; the only page ever put in a cache is the offline one (precache).
    assert body.count("cache.put(") == 2


def test_the_offline_page_says_what_works_and_offers_a_retry(client, make_user, auth):
    response = client.get("/offline")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "You're offline" in html or "You&#39;re offline" in html
    assert 'data-testid="offline-retry"' in html
    assert "Live rooms, booking and payments need a connection" in html


def test_the_public_key_is_null_while_push_is_off(client):
    data = client.get("/api/push/public-key/").get_json()["data"]
    assert data == {"public_key": None, "enabled": False}


def test_the_public_key_is_served_when_push_is_on(client, vapid):
    data = client.get("/api/push/public-key/").get_json()["data"]
    assert data == {"public_key": vapid, "enabled": True}


def test_a_browser_saves_and_deletes_its_subscription_with_the_page_csrf_token(
    app, client, auth, make_user, vapid
):
    user = make_user(email="ravi@example.com")
    auth.login(user.email)
    token = extract_csrf(client.get("/notifications/preferences").get_data(as_text=True))
    with PushServiceStandIn(vapid) as service:
        browser = service.subscribe()

    refused = client.post("/api/push/subscriptions/", json=browser)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"

    headers = {"X-CSRFToken": token, "User-Agent": "Phone browser"}
    saved = client.post("/api/push/subscriptions/", json=browser, headers=headers)
    again = client.post("/api/push/subscriptions/", json=browser, headers=headers)
    assert saved.status_code == again.status_code == 201
    [row] = db.session.scalars(select(PushSubscription))
    assert (row.user_id, row.endpoint, row.user_agent) == (user.id, browser["endpoint"], "Phone browser")

    deleted = client.delete(
        "/api/push/subscriptions/", json={"endpoint": browser["endpoint"]}, headers=headers
    )
    assert deleted.get_json()["data"] == {"removed": True}
    assert db.session.scalar(select(PushSubscription)) is None
    deleted = client.delete(
        "/api/push/subscriptions/", json={"endpoint": browser["endpoint"]}, headers=headers
    )
    assert deleted.get_json()["data"] == {"removed": False}


def test_saving_a_subscription_while_push_is_off_says_so(client, make_user, api_token):
    make_user(email="ravi@example.com")
    headers = {"Authorization": f"Bearer {api_token('ravi@example.com')}"}
    body = {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "k", "auth": "a"}}

    response = client.post("/api/push/subscriptions/", json=body, headers=headers)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "push_disabled"


def test_a_malformed_subscription_is_a_422_naming_the_field(client, make_user, api_token, vapid):
    make_user(email="ravi@example.com")
    headers = {"Authorization": f"Bearer {api_token('ravi@example.com')}"}

    response = client.post(
        "/api/push/subscriptions/", json={"endpoint": "https://x.example/1"}, headers=headers
    )
    assert response.status_code == 422 and "keys" in response.get_json()["error"]["fields"]
    body = {"endpoint": "https://x.example/1", "keys": {"p256dh": "short", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}
    response = client.post("/api/push/subscriptions/", json=body, headers=headers)
    assert response.status_code == 422 and "p256dh" in response.get_json()["error"]["fields"]


def test_the_settings_page_has_the_phone_notifications_switch(client, auth, make_user):
    user = make_user(email="ravi@example.com")
    auth.login(user.email)
    html = client.get("/notifications/preferences").get_data(as_text=True)

    assert 'x-data="pushToggle"' in html
    assert "/api/push/public-key/" in html and "/api/push/subscriptions/" in html
    assert "Phone notifications" in html


def test_flask_vapid_keys_prints_a_pair_the_configuration_accepts(runner):
    result = runner.invoke(args=["vapid-keys"])

    assert result.exit_code == 0
    values = dict(line.split("=", 1) for line in result.output.split())
    assert vapid_public_key_of(values["VAPID_PRIVATE_KEY"]) == values["VAPID_PUBLIC_KEY"]
    assert len(values["VAPID_PUBLIC_KEY"]) == 87  # 65 bytes in base64url


@pytest.mark.parametrize(
    ("public", "private", "subject"),
    [
        ("only-public", None, "mailto:a@example.com"),
        (None, "only-private", "mailto:a@example.com"),
        (new_vapid_keys()[0], new_vapid_keys()[1], "mailto:a@example.com"),  # not a pair
        (*new_vapid_keys(), "a@example.com"),
    ],
)
def test_the_configuration_refuses_vapid_settings_that_cannot_sign(public, private, subject):
    with pytest.raises(ConfigError):
        check_vapid(
            {
                "VAPID_PUBLIC_KEY": public,
                "VAPID_PRIVATE_KEY": private,
                "VAPID_SUBJECT": subject,
                "PUSH_TIMEOUT_SECONDS": 10,
            }
        )


def test_make_run_keeps_one_pair_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERLEARN_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("VAPID_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("VAPID_PRIVATE_KEY", raising=False)

    first, second = DevelopmentConfig.load(), DevelopmentConfig.load()

    assert first["VAPID_PUBLIC_KEY"] == second["VAPID_PUBLIC_KEY"]
    assert vapid_public_key_of(first["VAPID_PRIVATE_KEY"]) == first["VAPID_PUBLIC_KEY"]
    assert (tmp_path / "vapid_keys.json").stat().st_mode & 0o777 == 0o600
