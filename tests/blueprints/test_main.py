"""Public pages: the landing page's spotlight comes from the database (its figures and hero:
tests/blueprints/test_cards_and_home.py)."""

from peerlearn.models import utcnow


def test_spotlight_shows_only_verified_mentors_with_a_profile(client, make_user):
    make_user(role="mentor", name="Visible Mentor", headline="Teaches SQL")
    make_user(role="mentor", name="Unverified Mentor", headline="Teaches Go", unverified=True)
    make_user(role="mentor", name="Blank Mentor", headline="")
    make_user(role="mentor", name="Suspended Mentor", headline="Teaches C", suspended_at=utcnow())
    page = client.get("/").get_data(as_text=True)
    assert "Visible Mentor" in page
    for hidden in ("Unverified Mentor", "Blank Mentor", "Suspended Mentor"):
        assert hidden not in page


def test_html_and_json_error_pages(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Page not found" in page.get_data(as_text=True)
    api = client.get("/api/no-such-thing/")
    assert api.status_code == 404 and api.get_json()["success"] is False


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
