"""A new mentor's dashboard: charts with nothing to draw give way to a short note saying what will
appear there and the next step, instead of an empty plot and legend."""

from html import unescape

from tests.factories import make_session


def page_of(client):
    return unescape(client.get("/teach").get_data(as_text=True))


def test_a_new_mentor_sees_what_will_appear_and_the_next_step(client, auth, make_user):
    mentor = make_user(role="mentor", email="new-mentor@example.com")
    auth.login(mentor.email)
    page = page_of(client)
    for key in ("conversion", "earnings-charts", "rating-month"):
        assert f'data-empty="{key}"' in page
    assert 'x-data="dashboardChart"' not in page and "data-chart-figure" not in page
    assert page.count('href="/teach/sessions/new" class="btn btn-secondary') == 3
    assert "Publish your first session" in page and "No reviews in the last 12 months" in page


def test_with_a_published_session_but_no_views_the_next_step_is_not_to_publish(client, auth, make_user):
    mentor = make_user(role="mentor", email="new-mentor@example.com")
    make_session(mentor, title="First steps in SQL")
    auth.login(mentor.email)
    page = page_of(client)
    assert 'data-empty="conversion"' in page and "No views or bookings yet" in page
    assert 'data-chart-figure="conversion"' not in page
    assert "Publish your first session" not in page


def test_a_draft_is_the_next_step_when_only_drafts_exist(client, auth, make_user):
    mentor = make_user(role="mentor", email="new-mentor@example.com")
    make_session(mentor, status="draft")
    auth.login(mentor.email)
    page = page_of(client)
    assert "Publish your draft" in page and 'href="/teach/sessions?tab=drafts" class="btn' in page
