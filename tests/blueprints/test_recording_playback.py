"""The playback page, its media file (ranges, X-Accel-Redirect, a bucket's link), deleting a
recording, and the API's view of it, for each kind of person who asks."""

import re
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from peerlearn.extensions import db
from peerlearn.models import AuditEntry, ChatMessage, Recording, RoomRemoval
from peerlearn.services.storage import get_storage
from tests.conftest import free_port, unavailable
from tests.factories import SessionFactory
from tests.support.recordings import book, make_video, ready_recording
from tests.support.s3 import moto_server, new_bucket, s3_settings

NGINX = "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("video") / "x.webm")


@pytest.fixture(scope="module")
def s3_endpoint():
    yield from moto_server()


@pytest.fixture
def people(make_user):
    mentor = make_user(role="mentor")
    return {
        "mentor": mentor,
        "learner": make_user(),
        "outsider": make_user(),
        "admin": make_user(role="admin"),
    }


@pytest.fixture
def recorded(people, video):
    """A session of the mentor's with the learner's confirmed booking and a ready recording with
    a chapter, and two chat messages: one said 2 s into the recording, one before it started."""
    session = SessionFactory(mentor=people["mentor"])
    book(session, people["learner"])
    recording = ready_recording(session, video, chapters=[{"start_ms": 3000, "title": "Screen share"}])
    db.session.add_all(
        [
            ChatMessage(
                session_id=session.id,
                user_id=people["learner"].id,
                body="Can you show that again?",
                created_at=session.starts_at + timedelta(seconds=2),
            ),
            ChatMessage(
                session_id=session.id,
                user_id=people["mentor"].id,
                body="Starting in a minute",
                created_at=session.starts_at - timedelta(minutes=1),
            ),
        ]
    )
    db.session.commit()
    return session, recording


def get(client, url, **kwargs):
    """GET ``url`` and read and close the answer (a file's answer holds the file open until closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def page(session):
    return f"/sessions/{session.id}/recording"


def media(session):
    return f"/sessions/{session.id}/recording/file"


# --- the page -----------------------------------------------------------------------------------


def test_mentor_sees_the_video_its_chapters_and_the_chat_as_times_in_it(client, auth, people, recorded):
    session, _ = recorded
    auth.login(people["mentor"].email)
    response = client.get(page(session))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(rf'<video[^>]*controls preload="metadata"[^>]*src="{media(session)}"', html, re.S)
    assert 'data-seek-ms="3000"' in html and "Screen share" in html
    # Said 2 s after the recording started: a button seeking to 0:02.
    assert re.search(r'data-seek-ms="2000"[^>]*>0:02</button>', html)
    assert "Can you show that again?" in html
    # Said before anything was recorded: shown, but not as a place in the video.
    assert "Starting in a minute" in html and "not recorded" in html
    assert "Delete this recording" in html


@pytest.mark.parametrize("status", ["confirmed", "attended", "no_show"])
def test_a_learner_who_held_a_seat_may_watch(client, auth, make_user, people, recorded, status):
    session, _ = recorded
    learner = make_user()
    book(session, learner, status)
    auth.login(learner.email)
    response = client.get(page(session))
    assert response.status_code == 200
    assert "Delete this recording" not in response.get_data(as_text=True)
    assert get(client, media(session)).status_code == 200


@pytest.mark.parametrize("status", ["cancelled", "expired", "pending_payment"])
def test_a_learner_without_a_seat_gets_404(client, auth, make_user, recorded, status):
    session, _ = recorded
    learner = make_user()
    book(session, learner, status)
    auth.login(learner.email)
    assert client.get(page(session)).status_code == 404
    assert get(client, media(session)).status_code == 404
    assert client.get(f"/api/sessions/{session.id}/recording/").status_code == 404


def test_outsiders_and_removed_learners_get_404_and_admins_may_watch(client, auth, people, recorded):
    session, _ = recorded
    auth.login(people["outsider"].email)
    assert client.get(page(session)).status_code == 404
    assert get(client, media(session)).status_code == 404
    auth.logout()

    db.session.add(
        RoomRemoval(session_id=session.id, user_id=people["learner"].id, removed_by_id=session.mentor_id)
    )
    db.session.commit()
    auth.login(people["learner"].email)
    assert client.get(page(session)).status_code == 404
    auth.logout()

    auth.login(people["admin"].email)
    assert client.get(page(session)).status_code == 200
    assert get(client, media(session)).status_code == 200


def test_signed_out_the_page_asks_to_log_in_and_the_file_is_404(client, recorded):
    session, _ = recorded
    response = client.get(page(session))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert get(client, media(session)).status_code == 404


def test_a_session_without_a_recording_is_404_even_to_its_mentor(client, auth, people):
    session = SessionFactory(mentor=people["mentor"])
    auth.login(people["mentor"].email)
    assert client.get(page(session)).status_code == 404
    assert get(client, media(session)).status_code == 404


def test_while_composing_the_mentor_sees_progress_and_learners_a_notice(client, auth, people):
    session = SessionFactory(mentor=people["mentor"])
    book(session, people["learner"])
    db.session.add(
        Recording(session_id=session.id, status="processing", progress=40, progress_step="Mixing audio")
    )
    db.session.commit()
    auth.login(people["mentor"].email)
    html = client.get(page(session)).get_data(as_text=True)
    assert "Mixing audio: 40%" in html
    assert get(client, media(session)).status_code == 404
    auth.logout()
    auth.login(people["learner"].email)
    response = client.get(page(session))
    assert response.status_code == 200
    assert "being prepared" in response.get_data(as_text=True) and "40%" not in response.get_data(
        as_text=True
    )


# --- the file -----------------------------------------------------------------------------------


def test_the_whole_file_is_private_with_its_type_and_ranges_offered(client, auth, people, recorded, video):
    session, _ = recorded
    auth.login(people["learner"].email)
    response = get(client, media(session))
    assert response.status_code == 200
    assert response.data == video
    assert response.headers["Content-Type"] == "video/webm"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "private" in response.headers["Cache-Control"]
    assert "public" not in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [("bytes=0-99", 0, 100), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_a_range_gets_206_with_exactly_those_bytes(
    client, auth, people, recorded, video, header, start, stop
):
    session, _ = recorded
    auth.login(people["learner"].email)
    response = get(client, media(session), headers={"Range": header})
    assert response.status_code == 206
    expected = video[start:stop]
    assert response.data == expected
    first = start if start >= 0 else len(video) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(video)}"


def test_a_range_past_the_end_is_416(client, auth, people, recorded, video):
    session, _ = recorded
    auth.login(people["learner"].email)
    response = get(client, media(session), headers={"Range": f"bytes={len(video) + 10}-"})
    assert response.status_code == 416


def test_behind_nginx_the_file_is_handed_to_its_internal_location(app, client, auth, people, recorded):
    session, recording = recorded
    app.config["RECORDINGS_ACCEL_REDIRECT"] = "/_protected/uploads/"
    auth.login(people["learner"].email)
    response = get(client, media(session))
    assert response.status_code == 200
    assert response.headers["X-Accel-Redirect"] == f"/_protected/uploads/{recording.storage_key}"
    assert response.data == b""
    assert response.headers["Content-Type"] == "video/webm"
    assert "private" in response.headers["Cache-Control"]
    auth.logout()
    auth.login(people["outsider"].email)
    response = get(client, media(session))
    assert response.status_code == 404 and "X-Accel-Redirect" not in response.headers


def test_from_a_bucket_the_file_is_a_short_lived_link_the_page_allows(
    app, client, auth, people, video, s3_endpoint
):
    app.config.update(s3_settings(s3_endpoint, new_bucket(s3_endpoint)))
    session = SessionFactory(mentor=people["mentor"])
    book(session, people["learner"])
    ready_recording(session, video)
    auth.login(people["learner"].email)
    response = get(client, media(session))
    assert response.status_code == 302
    link = response.headers["Location"]
    assert link.startswith(s3_endpoint) and "X-Amz-Signature=" in link and "X-Amz-Expires=300" in link
    fetched = requests.get(link, headers={"Range": "bytes=0-99"}, timeout=10)
    assert fetched.status_code == 206 and fetched.content == video[:100]
    policy = client.get(page(session)).headers["Content-Security-Policy"]
    assert f"media-src 'self' {s3_endpoint}" in policy


# --- deleting -----------------------------------------------------------------------------------


def post_delete(client, auth, session, reason=""):
    token = auth.csrf(page(session))
    return client.post(f"{page(session)}/delete", data={"csrf_token": token, "reason": reason})


def test_the_mentor_deletes_it_for_everyone_audited(client, auth, people, recorded):
    session, recording = recorded
    key = recording.storage_key
    auth.login(people["mentor"].email)
    response = post_delete(client, auth, session, "Shared a password on screen")
    assert response.status_code == 302
    assert not get_storage().exists(key)
    db.session.expire_all()
    row = db.session.get(Recording, recording.id)
    assert (row.status, row.deleted_by_id, row.delete_reason) == (
        "deleted",
        people["mentor"].id,
        "Shared a password on screen",
    )
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recording.delete"))
    assert entry.actor_id == people["mentor"].id and entry.target_id == session.id
    gone = client.get(page(session))
    assert gone.status_code == 410 and "Shared a password on screen" in gone.get_data(as_text=True)
    auth.logout()
    auth.login(people["learner"].email)
    assert client.get(page(session)).status_code == 410
    assert get(client, media(session)).status_code == 410


def test_a_learner_cannot_delete_it(client, auth, people, recorded):
    session, recording = recorded
    auth.login(people["learner"].email)
    token = auth.csrf(page(session))
    response = client.post(f"{page(session)}/delete", data={"csrf_token": token})
    assert response.status_code == 404
    assert get_storage().exists(recording.storage_key)
    db.session.expire_all()
    assert db.session.get(Recording, recording.id).status == "ready"


def test_a_reason_too_long_is_a_form_error(client, auth, people, recorded):
    session, recording = recorded
    auth.login(people["mentor"].email)
    response = post_delete(client, auth, session, "x" * 201)
    assert response.status_code == 422
    assert get_storage().exists(recording.storage_key)


# --- the API ------------------------------------------------------------------------------------


def test_the_api_gives_state_length_chapters_and_urls(client, auth, people, recorded):
    session, _ = recorded
    auth.login(people["learner"].email)
    response = client.get(f"/api/sessions/{session.id}/recording/")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "ready" and data["duration_ms"] == 5000
    assert data["chapters"] == [{"start_ms": 3000, "title": "Screen share", "clock": "0:03"}]
    assert data["urls"]["file"].endswith(media(session))
    assert "progress" not in data
    auth.logout()
    auth.login(people["outsider"].email)
    assert client.get(f"/api/sessions/{session.id}/recording/").status_code == 404


# --- the admin's page ---------------------------------------------------------------------------


def test_an_admin_cuts_a_learner_out_of_a_ready_recording(client, auth, people, recorded):
    session, recording = recorded
    admin_page = f"/admin/sessions/{session.id}/recording"
    auth.login(people["learner"].email)
    assert client.get(admin_page).status_code == 403
    auth.logout()
    auth.login(people["admin"].email)
    html = client.get(admin_page).get_data(as_text=True)
    assert people["learner"].email in html and "A learner asks to be cut out" in html
    token = auth.csrf(admin_page)
    refused = client.post(
        f"{admin_page}/cut-out", data={"csrf_token": token, "learner": people["outsider"].id}
    )
    assert refused.status_code == 422
    assert get_storage().exists(recording.storage_key)
    response = client.post(
        f"{admin_page}/cut-out",
        data={"csrf_token": token, "learner": people["learner"].id, "note": "Asked by email"},
    )
    assert response.status_code == 303
    assert not get_storage().exists(recording.storage_key)
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tell them it is gone" in followed
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recording.cut_out"))
    assert entry.actor_id == people["admin"].id and entry.details["learner_id"] == people["learner"].id
    auth.logout()
    auth.login(people["learner"].email)
    assert client.get(page(session)).status_code == 410


def test_the_mentor_may_try_a_failed_recording_again_and_a_learner_may_not(client, auth, people):
    session = SessionFactory(mentor=people["mentor"])
    book(session, people["learner"])
    db.session.add(Recording(session_id=session.id, status="failed", error="RuntimeError: ffmpeg exited 1"))
    db.session.commit()
    auth.login(people["learner"].email)
    html = client.get(page(session)).get_data(as_text=True)
    assert "Try again" not in html and "ffmpeg" not in html
    token = auth.csrf(page(session))
    assert client.post(f"{page(session)}/retry", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(Recording.status).where(Recording.session_id == session.id)) == "failed"
    auth.logout()
    auth.login(people["mentor"].email)
    html = client.get(page(session)).get_data(as_text=True)
    assert "Try again" in html and "ffmpeg exited 1" in html
    token = auth.csrf(page(session))
    response = client.post(f"{page(session)}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "being made again" in response.get_data(as_text=True)
    db.session.expire_all()
    # Queued again: composing ran (inline here) and, with no raw feeds to read, counted an attempt.
    assert db.session.scalar(select(Recording.attempts).where(Recording.session_id == session.id)) >= 1


def test_nginx_sends_the_asked_range_after_the_apps_check(
    app, client, auth, people, recorded, video, tmp_path
):
    """The site's own internal location (taken from deploy/nginx/peerlearn.conf, its alias pointed
    at this app's UPLOAD_DIR) in a real nginx in front of the app: an allowed request's range comes
    from nginx, the location cannot be asked for directly, and an outsider gets the app's 404."""
    if not Path(NGINX).exists():
        unavailable(f"nginx is not installed at {NGINX}")
    session, recording = recorded
    site = (Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "peerlearn.conf").read_text()
    location = re.search(r"\n    location /_protected/uploads/ \{.*?\n    \}\n", site, re.S).group(0)
    location = location.replace("/var/lib/peerlearn/uploads/", str(Path(app.config["UPLOAD_DIR"])) + "/")
    app.config["RECORDINGS_ACCEL_REDIRECT"] = "/_protected/uploads/"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = free_port()
    (tmp_path / "nginx.conf").write_text(
        f"""
user root;
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    server {{
        listen 127.0.0.1:{port};
        {location}
        location / {{
            proxy_pass http://127.0.0.1:{server.server_port};
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""
    )
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])  # noqa: S603 - a fixed argument list of our own, no shell
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # until nginx listens
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                if nginx.poll() is not None:
                    pytest.fail(f"nginx exited: {(tmp_path / 'error.log').read_text()}")
                time.sleep(0.1)
        auth.login(people["learner"].email)
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        signed_in = {cookie.key: cookie.value}
        response = requests.get(
            f"{base}{media(session)}", headers={"Range": "bytes=0-99"}, cookies=signed_in, timeout=10
        )
        assert response.status_code == 206
        assert response.content == video[:100]
        assert response.headers["Content-Range"] == f"bytes 0-99/{len(video)}"
        assert "private" in response.headers["Cache-Control"]
        assert "X-Accel-Redirect" not in response.headers
        whole = requests.get(f"{base}{media(session)}", cookies=signed_in, timeout=10)
        assert whole.status_code == 200 and whole.content == video
        assert whole.headers["Content-Type"] == "video/webm"
        direct = requests.get(f"{base}/_protected/uploads/{recording.storage_key}", timeout=10)
        assert direct.status_code == 404
        assert requests.get(f"{base}{media(session)}", timeout=10).status_code == 404  # signed out
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
        server.shutdown()
