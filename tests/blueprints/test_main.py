"""Public pages: the landing page's figures and spotlight come from the database."""

import re

from peerlearn.models import utcnow
from peerlearn.services import skills


def figure(page, name):
    return int(re.search(rf'data-figure="{name}">(\d+)<', page).group(1))


def test_landing_figures_are_counted_from_the_database(client, make_user):
    page = client.get("/").get_data(as_text=True)
    assert (figure(page, "mentors"), figure(page, "learners"), figure(page, "skills")) == (0, 0, 0)
    assert "No sessions are scheduled yet." in page

    mentor = make_user(role="mentor", headline="Rust mentor")
    mentor.skills = skills.resolve(["Rust", "Go"])
    learner = make_user()
    learner.interests = skills.resolve(["Rust", "Elixir"])
    make_user(role="learner", suspended_at=utcnow())  # suspended accounts are not counted
    make_user(role="admin")
    from peerlearn.extensions import db

    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    # Every account but an admin's learns: the mentor counts as a learner too.
    assert (figure(page, "mentors"), figure(page, "learners"), figure(page, "skills")) == (1, 2, 3)


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
