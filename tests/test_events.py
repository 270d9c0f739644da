"""Every event a service records has someone listening once the app is set up, and recording
one nobody listens to is refused instead of telling no one."""

import re
from pathlib import Path

import pytest

from peerlearn import events

PACKAGE = Path(__file__).resolve().parent.parent / "peerlearn"
RECORDED = re.compile(r"""events\.record\(\s*["'](\w+)["']""")


def recorded_events():
    return sorted({name for path in PACKAGE.rglob("*.py") for name in RECORDED.findall(path.read_text())})


def test_the_services_record_events():
    names = recorded_events()
    assert "booking_confirmed" in names and "refund_reserved" in names and "session_published" in names


def test_every_recorded_event_has_a_subscriber(app):
    unheard = [name for name in recorded_events() if not events.subscribed(name)]
    assert not unheard, f"recorded but nobody subscribes: {unheard}"


def test_a_session_cancelled_tells_people_first_then_declines_its_request(app):
    heard = events.subscribed("session_cancelled")
    assert heard.index("notifications") < heard.index("session_requests")
    assert "waitlist" in heard  # its line ends


def test_recording_an_event_nobody_listens_to_is_refused(app):
    with pytest.raises(LookupError, match="nothing subscribes"):
        events.record("no_such_event")


def test_subscribing_again_under_one_name_replaces_the_handler(monkeypatch):
    monkeypatch.setattr(events, "_subscribers", {})
    heard = []
    events.subscribe("tested", "listener", lambda value: heard.append(("first", value)))
    events.subscribe("tested", "listener", lambda value: heard.append(("second", value)))
    events.record("tested", 1)
    assert heard == [("second", 1)]
