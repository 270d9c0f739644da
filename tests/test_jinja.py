from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from peerlearn.jinja import device_name, format_inr, localtime, machine_time


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0"),
        (5, "₹0.05"),
        (100, "₹1"),
        (150050, "₹1,500.50"),
        (123456789, "₹12,34,567.89"),
        (10000000000, "₹10,00,00,000"),
        (-2500, "-₹25"),
    ],
)
def test_format_inr_uses_indian_grouping(paise, text):
    assert format_inr(paise) == text


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Edg/130.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1",
            "Safari on iPhone",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown device"),
    ],
)
def test_device_name(agent, name):
    assert device_name(agent) == name


def test_localtime_in_a_given_zone(app):
    moment = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
    assert localtime(moment, tz="Asia/Kolkata") == "15 Jan 2026, 6:00 PM"
    assert localtime(None) == ""


def test_machine_time_is_valid_for_a_time_element():
    # HTML allows at most milliseconds: the microseconds of a stored timestamp are dropped.
    assert machine_time(datetime(2026, 1, 15, 12, 30, 5, 123456, tzinfo=UTC)) == "2026-01-15T12:30:05+00:00"
    kolkata = datetime(2026, 1, 15, 18, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert machine_time(kolkata) == "2026-01-15T18:00:00+05:30"
    assert machine_time(datetime(2026, 1, 15, 9, 5, 7, 999)) == "2026-01-15T09:05:07"
    assert machine_time(date(2026, 1, 15)) == "2026-01-15"
    assert machine_time(None) == ""
