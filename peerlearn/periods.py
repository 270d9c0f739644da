"""Calendar periods in a timezone: the months and weeks that charts and earnings statements
count by, each from local midnight to local midnight."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

# How many periods a chart shows unless told otherwise.
CHART_WEEKS = 12
CHART_MONTHS = 12


@dataclass(frozen=True)
class Period:
    key: str  # "2026-11" for a month, the Monday "2026-11-16" for a week
    label: str  # "Nov 2026", "16 Nov"
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive


def local_midnight(day, zone):
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def month_periods(now, tz, count=CHART_MONTHS):
    """The last ``count`` calendar months in ``tz``, the current one last."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1
    firsts = [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 2)]
    return [
        Period(
            key=first.strftime("%Y-%m"),
            label=first.strftime("%b %Y"),
            start=local_midnight(first, zone),
            end=local_midnight(following, zone),
        )
        for first, following in pairwise(firsts)
    ]


def week_periods(now, tz, count=CHART_WEEKS):
    """The last ``count`` weeks (Monday to Sunday) in ``tz``, the current one last."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    mondays = [monday - timedelta(weeks=n) for n in range(count - 1, -2, -1)]
    return [
        Period(
            key=start.isoformat(),
            label=f"{start.day} {start:%b}",
            start=local_midnight(start, zone),
            end=local_midnight(following, zone),
        )
        for start, following in pairwise(mondays)
    ]
