"""`flask seed-demo` makes the catalog look alive: faces for every demo account, uploaded covers
on a few sessions, reviews with text for the past sessions, and no failure without Node."""

import shutil
from pathlib import Path

from sqlalchemy import func, select

from peerlearn import demo
from peerlearn.extensions import db
from peerlearn.models import (
    Attendance,
    Coupon,
    LearningSession,
    PackPurchase,
    Review,
    SessionPack,
    User,
    WaitlistEntry,
    WebhookDelivery,
    WebhookEndpoint,
)
from peerlearn.services import avatars, ledger, storage
from tests.conftest import AuthActions, unavailable

ROOT = Path(__file__).resolve().parent.parent


def node_with_dicebear():
    if shutil.which("node") is None:
        unavailable("node is not installed: demo avatars fall back to initials")
    if not (ROOT / "node_modules" / "@dicebear" / "core").is_dir():
        unavailable("npm packages are not installed (run npm ci): demo avatars fall back to initials")


def test_seed_gives_every_demo_account_a_generated_face(app, runner, client):
    node_with_dicebear()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    users = db.session.scalars(select(User)).all()
    assert len(users) == len(demo.DEMO_USERS)
    assert all(user.avatar_filename and user.avatar_filename.endswith(".svg") for user in users)
    asha = next(user for user in users if user.email == "mentor1@peerlearn.local")
    svg = storage.get_storage().get(avatars.avatar_key(asha.avatar_filename)).decode()
    assert svg.startswith("<svg") and "<script" not in svg
    response = client.get(f"/media/avatars/{asha.avatar_filename}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    response.close()
    # The landing page shows the faces, not initials.
    assert f'src="/media/avatars/{asha.avatar_filename}"' in client.get("/").get_data(as_text=True)

    # Seeding again draws nothing new and keeps the same faces.
    before = {user.email: user.avatar_filename for user in users}
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert {u.email: u.avatar_filename for u in db.session.scalars(select(User))} == before
    assert len(list((Path(app.config["UPLOAD_DIR"]) / "avatars").glob("*.svg"))) == len(users)


def test_seed_without_node_falls_back_to_initials(app, runner, monkeypatch):
    monkeypatch.setattr(demo.shutil, "which", lambda name: None)
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(User.id)).where(User.avatar_filename.is_not(None))) == 0


def test_seed_survives_a_failing_avatar_script(app, runner, monkeypatch, tmp_path):
    script = tmp_path / "scripts" / "avatars.mjs"
    script.parent.mkdir()
    script.write_text("process.exit(3);\n")
    monkeypatch.setattr(demo, "Path", lambda *_: tmp_path / "peerlearn")
    if shutil.which("node") is None:
        unavailable("node is not installed: a failing avatar script cannot be run")
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(User.id)).where(User.avatar_filename.is_not(None))) == 0


def test_seed_writes_reviews_covers_and_past_sessions_once(app, runner, monkeypatch):
    monkeypatch.setattr(demo.shutil, "which", lambda name: None)  # faces are tested above
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    reviews = db.session.scalars(select(Review)).all()
    assert len(reviews) >= 12 and all(review.body and 1 <= review.rating <= 5 for review in reviews)
    past = db.session.scalars(select(LearningSession).where(LearningSession.status == "completed")).all()
    assert len(past) >= 5
    for session in past:
        attended = db.session.scalar(
            select(func.count(Attendance.id)).where(Attendance.session_id == session.id)
        )
        assert attended >= 2  # the mentor and at least one learner
    covered = db.session.scalars(
        select(LearningSession).where(LearningSession.cover_filename.is_not(None))
    ).all()
    assert {session.title for session in covered} == demo.DEMO_COVERED
    for session in covered:
        assert len(storage.get_storage().get(avatars.cover_key(session.cover_filename))) > 1000

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(Review.id))) == len(reviews)


def test_seed_gives_every_growth_page_something_to_show_once(app, runner, client, monkeypatch):
    monkeypatch.setattr(demo.shutil, "which", lambda name: None)  # faces are tested above
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    [purchase] = db.session.scalars(select(PackPurchase)).all()
    assert purchase.status == "active" and purchase.credits_left == 5 and purchase.pack.active
    assert ledger.payment_balance(purchase.payment_id) == {
        "payment": purchase.price_paise,
        "held_for_learner": purchase.price_paise,
    }
    coupons = {coupon.code: coupon.funded_by for coupon in db.session.scalars(select(Coupon))}
    assert coupons == {"ASHA10": "mentor", "PEERLEARN5": "platform"}
    line = db.session.scalars(select(WaitlistEntry).order_by(WaitlistEntry.id)).all()
    assert [entry.status for entry in line] == ["waiting", "waiting"]
    assert line[0].session.seats_taken == line[0].session.capacity  # full, so the line is real
    [hook] = db.session.scalars(select(WebhookEndpoint)).all()
    assert not hook.enabled and hook.url.startswith("http://127.0.0.1:")
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0  # nothing called out

    assert AuthActions(client).login("admin@peerlearn.local", demo.DEMO_PASSWORD).status_code == 302
    for path, shown in (
        ("/admin/packs", "Five office hours"),
        ("/admin/packs/purchases", "Five office hours"),
        ("/admin/waitlists", demo.DEMO_FULL_SESSION),
        ("/admin/webhooks", hook.url),
        ("/admin/coupons", "PEERLEARN5"),
    ):
        response = client.get(path)
        assert response.status_code == 200 and shown in response.get_data(as_text=True), path

    assert runner.invoke(args=["seed-demo"]).exit_code == 0  # seeding again adds none of them
    once = {PackPurchase: 1, SessionPack: 1, Coupon: 2, WaitlistEntry: 2, WebhookEndpoint: 1}
    for model, count in once.items():
        assert db.session.scalar(select(func.count(model.id))) == count, model
