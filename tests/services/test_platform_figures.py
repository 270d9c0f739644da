"""The platform's figures are counted in one place (services/stats.py) and shown unchanged by the
landing page's hero and the admin overview; the landing page's faces and mentor cards come from
one notion of a presentable mentor."""

import re
from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import utcnow
from peerlearn.services import showcase, skills, stats
from tests import factories
from tests.support.reviews import reviewed_session


def test_platform_figures_count_each_figure_once(make_user):
    mentor = make_user(role="mentor", headline="Teaches")
    make_user(role="mentor", suspended_at=utcnow())  # suspended: counted nowhere
    make_user(role="admin")  # staff: not a learner
    mentor.skills = skills.resolve(["Python", "SQL"])
    db.session.commit()
    reviewed_session(mentor, [5, 4, 3], hidden={0})
    factories.make_session(mentor, status="cancelled")
    assert stats.platform_figures() == {
        "mentors": 1,
        "learners": 4,  # the mentor and the three learners
        "learners_taught": 3,
        "sessions_held": 1,
        "skills": 2,
        "reviews": 2,
        "average_rating": 3.5,
    }


def test_an_empty_platform_has_no_average(app):
    figures = stats.platform_figures()
    assert figures["average_rating"] is None and figures["reviews"] == 0 and figures["mentors"] == 0


def test_hero_shows_the_counted_figures_once_they_reach_the_threshold(client, make_user):
    mentor = make_user(role="mentor", headline="Teaches")
    reviewed_session(mentor, [5, 4, 4])
    factories.make_session(mentor, status="completed", starts_at=utcnow() - timedelta(days=2))
    assert [(f.key, f.value) for f in showcase.hero_figures(minimum=2)] == [
        ("sessions", "2"),
        ("learners", "3"),
        ("rating", "4.3 ★"),
    ]
    page = client.get("/").get_data(as_text=True)
    assert "data-figure=" not in page  # all under the landing page's threshold of 20


def test_admin_overview_shows_skills_in_use(client, make_user, auth):
    make_user(role="admin", email="admin@example.com")
    learner = make_user()
    learner.interests = skills.resolve(["Figma", "Python"])
    make_user(role="mentor").skills = skills.resolve(["Python"])
    db.session.commit()
    auth.login("admin@example.com")
    page = client.get("/admin").get_data(as_text=True)
    assert re.search(r'data-figure="skills">2<', page)


def test_faces_put_photos_first_and_cards_the_earliest_mentors(client, make_user):
    start = utcnow() - timedelta(days=30)
    first = make_user(role="mentor", name="First Mentor", headline="A", created_at=start)
    day = timedelta(days=1)
    second = make_user(role="mentor", name="Second Mentor", headline="B", created_at=start + day)
    pictured = make_user(
        role="mentor",
        name="Pictured Mentor",
        headline="C",
        avatar_filename="c.webp",
        created_at=start + timedelta(days=2),
    )
    make_user(role="mentor", name="Blank Mentor", headline="", created_at=start - timedelta(days=1))
    make_user(role="mentor", name="Unconfirmed Mentor", headline="D", unverified=True)
    assert showcase.faces(limit=6) == [pictured, first, second]
    assert showcase.spotlight(limit=2) == [first, second]
    page = client.get("/").get_data(as_text=True)
    cards = page[page.index('id="mentors-heading"') :]
    assert cards.index("First Mentor") < cards.index("Second Mentor") < cards.index("Pictured Mentor")
    assert "Blank Mentor" not in page and "Unconfirmed Mentor" not in page
