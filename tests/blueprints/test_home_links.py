"""The landing page leads to the mentor directory from its body, not only from the header: beside
the hero's faces and above the mentors it puts forward, and also when nobody has a profile yet."""

import re

from tests import factories


def body_of(page):
    """The page's main content, without the header's navigation."""
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def links_to_directory(html):
    return re.findall(r'<a href="/mentors"[^>]*data-home-link="([a-z-]+)"', html)


def test_home_body_links_to_the_mentor_directory(client, make_user):
    mentor = make_user(role="mentor", name="Asha Raman", headline="Data engineer at a bank")
    factories.make_session(mentor, title="Pandas for messy data")
    body = body_of(client.get("/").get_data(as_text=True))
    assert links_to_directory(body) == ["hero-mentors", "all-mentors"]
    assert ">Meet the mentors</a>" in body and ">See all mentors</a>" in body


def test_an_empty_platform_still_links_to_the_directory(client):
    body = body_of(client.get("/").get_data(as_text=True))
    assert links_to_directory(body) == ["all-mentors"]
