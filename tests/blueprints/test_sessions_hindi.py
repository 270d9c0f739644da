"""The catalog, a session's page, the home page, a mentor's sessions and the sessions API in
Hindi for someone who reads Hindi (issue 20), and the same pages still in English for everyone
else. The catalog's texts are in peerlearn/translations/hi/sessions.po."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from peerlearn.services import booking as booking_service
from tests import factories

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HINDI = {"Accept-Language": "hi-IN,hi;q=0.9"}
ENGLISH = {"Accept-Language": "en-IN,en;q=0.9"}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW)


@pytest.fixture
def mentor(make_user):
    return make_user(role="mentor", name="Asha Rao", email="asha@example.com")


def text(response):
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def test_the_catalog_speaks_hindi_with_its_count_filters_and_sorts(client, mentor):
    factories.make_session(mentor, title="Pandas in practice", starts_at=NOW + timedelta(days=2))
    factories.make_session(mentor, title="SQL for analysts", starts_at=NOW + timedelta(days=3))

    hindi = text(client.get("/sessions", headers=HINDI))
    english = text(client.get("/sessions", headers=ENGLISH))

    assert "2 सेशन मिले" in hindi and "2 sessions found" not in hindi
    assert "कोई भी कैटेगरी" in hindi and "सिर्फ़ मुफ़्त सेशन" in hindi
    assert "सबसे पहले शुरू होने वाले" in hindi  # the sort's label, kept lazily at import
    assert "Pandas in practice" in hindi  # what mentors write stays as they wrote it
    assert "2 sessions found" in english and "Any category" in english and "Starting soonest" in english


def test_a_visitor_reads_the_session_page_in_hindi(client, mentor):
    session = factories.make_session(mentor, title="Pandas in practice", capacity=3, price_paise=50000)

    hindi = text(client.get(f"/sessions/{session.id}", headers=HINDI))
    english = text(client.get(f"/sessions/{session.id}", headers=ENGLISH))

    assert "3 में से 3 सीटें बची हैं" in hindi and "बुक करने के लिए लॉग इन करें" in hindi
    assert "Log in to book" not in hindi and "seats left" not in hindi
    assert "3 of 3 seats left" in english and "Log in to book" in english


def test_the_home_page_speaks_hindi(client, mentor):
    factories.make_session(mentor, title="Pandas in practice")

    hindi = text(client.get("/", headers=HINDI))

    assert "काम करने वाले लोगों से लाइव सीखें।" in hindi and "आने वाले सेशन" in hindi
    assert "Learn live from people who do the work." not in hindi


def test_a_mentors_sessions_and_form_speak_hindi(client, auth, mentor):
    factories.make_session(mentor, title="Pandas in practice")
    auth.login("asha@example.com")

    listing = text(client.get("/teach/sessions", headers=HINDI))
    form = text(client.get("/teach/sessions/new", headers=HINDI))

    assert "मेरे सेशन" in listing and "आने वाले" in listing and "ड्राफ़्ट" in listing  # the tabs
    assert "60 मिनट" in listing and "My sessions" not in listing
    assert "टाइटल" in form and "प्रति सीट कीमत" in form and "ड्राफ़्ट सहेजें" in form


def test_the_api_explains_a_bad_filter_in_hindi_with_the_same_codes(client):
    hindi = client.get("/api/sessions/?level=expert", headers=HINDI)
    english = client.get("/api/sessions/?level=expert", headers=ENGLISH)

    assert hindi.status_code == english.status_code == 422
    hindi_error, english_error = hindi.get_json()["error"], english.get_json()["error"]
    assert hindi_error["code"] == english_error["code"]
    assert hindi_error["message"] == "खोज के कुछ फ़िल्टर सही नहीं हैं।"
    assert hindi_error["fields"]["level"] == ["सूची में से कोई लेवल चुनें।"]
    assert english_error["message"] == "Some search filters are not valid."


def test_the_room_and_the_reason_it_is_closed_speak_hindi(client, auth, make_user, mentor, time_machine):
    learner = make_user(email="ana@example.com", name="Ana Learner")
    session = factories.make_session(mentor, starts_at=NOW + timedelta(minutes=30))
    booking_service.book(session.id, learner)
    auth.login("ana@example.com")

    closed = client.get(f"/sessions/{session.id}/room", headers=HINDI)
    assert closed.status_code == 403
    refusal = unescape(closed.get_data(as_text=True))
    assert "आप इस रूम में नहीं जा सकते" in refusal
    assert re.search(r"रूम शुरू होने से \d+ मिनट पहले खुलता है।", refusal)

    time_machine.shift(timedelta(minutes=25))
    room = text(client.get(f"/sessions/{session.id}/room", headers=HINDI))
    assert "रूम से जुड़ रहे हैं…" in room and "कॉल कंट्रोल" in room
    assert 'data-unpin="पिन हटाएँ"' in room  # what its Alpine expressions show, drawn in Hindi
    assert "Joining the room" not in room
