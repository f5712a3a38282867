"""Status report periods: bad periods refused with field errors, the longest period, periods
named as people say them, and when a digest is due."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.exceptions import ApplicationError
from reporting.models import StatusReport
from reporting.status.periods import DASH, digest_due, last_full_week, period_label, period_slug
from reporting.status.services import status_report_create, utc_today

TODAY = utc_today()
START, END = last_full_week(TODAY)

# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"period_start": "2026-03-10", "period_end": "2026-03-01"}, "period_end", "before"),
        (
            {"period_start": TODAY.isoformat(), "period_end": str(TODAY + timedelta(days=1))},
            "period_end",
            "future",
        ),
        ({"period_start": "2024-01-01", "period_end": "2025-01-31"}, "period_end", "366"),
        ({"period_start": "1999-12-31", "period_end": "2000-01-02"}, "period_start", "2000"),
        ({"period_start": "2026-03-01", "period_end": "March"}, "period_end", "format"),
        ({"period_start": "2026-03-01"}, "period_end", "required"),
    ],
)
def test_bad_periods_are_400(org, api_client_for, body, field, problem):
    response = api_client_for(org.users["lee"]).post("/api/v1/status-reports/", body)

    assert response.status_code == 400
    assert problem in " ".join(response.json()[field])
    assert not StatusReport.objects.exists()


def test_a_year_and_a_day_is_the_longest_period(org):
    report = status_report_create(
        actor=org.users["lee"], period_start=date(2024, 1, 1), period_end=date(2024, 12, 31)
    )
    assert report.slug == "2024-01-01-to-2024-12-31"
    assert report.content["dora"]["trend_bucket"] == "month"
    with pytest.raises(ApplicationError):
        status_report_create(
            actor=org.users["lee"], period_start=date(2024, 1, 1), period_end=date(2025, 1, 1)
        )


@pytest.mark.parametrize(
    ("start", "end", "slug", "label"),
    [
        (date(2026, 11, 16), date(2026, 11, 22), "2026-w47", "Week 47, 2026 (16{d}22 Nov)"),
        (date(2025, 12, 29), date(2026, 1, 4), "2026-w01", "Week 1, 2026 (29 Dec {d} 4 Jan)"),
        (date(2026, 2, 1), date(2026, 2, 28), "2026-02", "February 2026"),
        (date(2026, 11, 3), date(2026, 11, 3), "2026-11-03", "3 Nov 2026"),
        (date(2026, 11, 3), date(2026, 12, 9), "2026-11-03-to-2026-12-09", "3 Nov {d} 9 Dec 2026"),
        (date(2025, 12, 3), date(2026, 1, 9), "2025-12-03-to-2026-01-09",
         "3 Dec 2025 {d} 9 Jan 2026"),
    ],
)  # fmt: skip
def test_periods_are_named_as_people_say_them(start, end, slug, label):
    assert (period_slug(start, end), period_label(start, end)) == (slug, label.format(d=DASH))


MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)


@pytest.mark.parametrize(
    ("frequency", "weekday", "last_sent_on", "today", "due"),
    [
        ("weekly", 0, None, MON, True),  # the scheduled day
        ("weekly", 0, None, TUE, False),  # a new subscriber waits for their day
        ("weekly", 0, MON, MON, False),  # sent today already
        ("weekly", 0, MON - timedelta(days=7), TUE, True),  # Monday was missed: catch up
        ("weekly", 2, MON, WED, True),  # moved to Wednesdays (the same week is not resent)
        ("daily", 0, MON, TUE, True),
        ("daily", 0, TUE, TUE, False),
        ("monthly", 0, None, date(2026, 12, 1), True),
        ("monthly", 0, date(2026, 11, 1), WED, False),
        ("off", 0, None, MON, False),
    ],
)
def test_when_a_digest_is_due(frequency, weekday, last_sent_on, today, due):
    assert (
        digest_due(frequency=frequency, weekday=weekday, last_sent_on=last_sent_on, today=today)
        is due
    )
