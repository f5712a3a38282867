"""Report periods and digest schedules: pure date arithmetic, no database.

A period is two dates, both included, UTC days as everywhere in the metrics. Its slug and its
label name it the way people say it: an ISO week ("2026-w48"), a calendar month ("2026-11"),
a day ("2026-11-16"), or else both ends ("2026-11-16-to-2026-12-01").
"""

from __future__ import annotations

from datetime import date, timedelta

DAILY, WEEKLY, MONTHLY, OFF = "daily", "weekly", "monthly", "off"
DASH = "\N{EN DASH}"


def last_full_week(today: date) -> tuple[date, date]:
    """The Monday to Sunday week before the one ``today`` is in."""
    end = today - timedelta(days=today.weekday() + 1)
    return end - timedelta(days=6), end


def previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def previous_period(frequency: str, today: date) -> tuple[date, date]:
    """The full period a digest sent ``today`` covers: yesterday, last week, last month."""
    if frequency == DAILY:
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if frequency == MONTHLY:
        return previous_month(today)
    return last_full_week(today)


def _is_iso_week(start: date, end: date) -> bool:
    return start.weekday() == 0 and end - start == timedelta(days=6)


def _is_month(start: date, end: date) -> bool:
    return start.day == 1 and (end + timedelta(days=1)).day == 1 and start.month == end.month


def period_slug(start: date, end: date) -> str:
    if _is_iso_week(start, end):
        year, week, _day = start.isocalendar()
        return f"{year}-w{week:02d}"
    if _is_month(start, end):
        return f"{start:%Y-%m}"
    if start == end:
        return start.isoformat()
    return f"{start.isoformat()}-to-{end.isoformat()}"


def _day(day: date, *, year: bool = True) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if year else "")


def period_label(start: date, end: date) -> str:
    """How people say the period: "Week 48, 2026 (23-29 Nov)", "November 2026", "16 Nov 2026",
    "16 Nov - 3 Dec 2026" (with en dashes)."""
    if _is_iso_week(start, end):
        year, week, _day_of_week = start.isocalendar()
        inside = (
            f"{start.day}{DASH}{_day(end, year=False)}"
            if start.month == end.month
            else f"{_day(start, year=False)} {DASH} {_day(end, year=False)}"
        )
        return f"Week {week}, {year} ({inside})"
    if _is_month(start, end):
        return f"{start:%B %Y}"
    if start == end:
        return _day(start)
    if start.year == end.year:
        return f"{_day(start, year=False)} {DASH} {_day(end)}"
    return f"{_day(start)} {DASH} {_day(end)}"


def scheduled_day(frequency: str, weekday: int, today: date) -> date:
    """The latest day on or before ``today`` a digest of ``frequency`` is scheduled for."""
    if frequency == DAILY:
        return today
    if frequency == MONTHLY:
        return today.replace(day=1)
    return today - timedelta(days=(today.weekday() - weekday) % 7)


def digest_due(*, frequency: str, weekday: int, last_sent_on: date | None, today: date) -> bool:
    """Whether a digest goes out on an hourly run ``today``.

    Due once per scheduled day: on the day itself, or later if that day was missed (the beat
    or the mail server was down) and nothing was sent since. A subscriber who never got one
    waits for the next scheduled day rather than getting one the hour they subscribe.
    """
    if frequency == OFF:
        return False
    scheduled = scheduled_day(frequency, weekday, today)
    if last_sent_on is None:
        return scheduled == today
    return last_sent_on < scheduled
