"""Incident reports on a small world computed by hand: MTTA and MTTR (medians) by severity and
team, incidents per production deployment per team, repeat alerts and repeat cause tags; the
pure formulas first, then the world through the selector (and what another team sees)."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.incidents import services
from pipelines.incidents.reports import (
    IncidentTimes,
    ResponseTimes,
    cause_tags,
    incident_report,
    response_times,
)
from pipelines.models import Incident, PostIncidentReview
from reporting.metrics.dora import Window
from tests.pipelines.incidents.conftest import at

MARCH = Window(date(2026, 3, 1), date(2026, 3, 31))
DAY = 24 * 60  # minutes


def test_response_times_are_medians_over_what_was_reached():
    rows = [
        IncidentTimes("sev1", 1, at(0), at(5), at(65)),  # 300 s, 3900 s
        IncidentTimes("sev1", 1, at(0), at(15), at(180)),  # 900 s, 10800 s
        IncidentTimes("sev2", 1, at(0), at(10)),  # 600 s, open
        IncidentTimes("", 1, at(0)),  # nothing yet
        IncidentTimes("sev2", 1, at(10), at(9)),  # a clock behind: 0 s, not -60 s
    ]

    assert response_times(rows) == ResponseTimes(
        incidents=5, acknowledged=4, mtta=450.0, resolved=2, mttr=7350.0
    )  # MTTA: median(0, 300, 600, 900) = (300 + 600) / 2; MTTR: (3900 + 10800) / 2
    assert response_times([]) == ResponseTimes(0, 0, None, 0, None)


def test_cause_tags_are_hash_words_in_any_case():
    assert cause_tags("A #Config-Drift and #capacity; #config-drift again, not a#b or #1") == {
        "config-drift",
        "capacity",
    }
    assert cause_tags("") == set()


@pytest.fixture
def world(org, open_incident, bff, deploy):
    """Cart API (Checkout) and Mobile BFF (Mobile) in March 2026, minutes after T0:

    | inc | service  | owner  | sev  | acked     | resolved     | alertname     | cause tags   |
    | I1  | cart-api |        | sev1 | +5 (300)  | +65 (3900)   | HighErrorRate | config-drift |
    | I2  | cart-api |        | sev1 | +15 (900) | +180 (10800) | HighErrorRate | config-drift |
    |     |          |        |      |           |              |               | capacity     |
    | I3  | cart-api |        | sev2 | +10 (600) | open         | DiskFull      |              |
    | I4  | cart-api |        |      |           | open         |               |              |
    | I5  | bff      |        | sev2 | +2 (120)  | +30 (1800)   |               | capacity     |
    | I6  | cart-api | mobile | sev3 | +20 (1200)| +60 (3600)   |               |              |

    (minutes after opening, seconds in brackets)
    Each opens on its own day (I1 at T0, I2 a day later, ...). Cart API deploys to production
    five times in March (d0 on 1 March, d1 and d2 an hour before I2 and I3 open, d3 and d4
    after the last incident) and once in February, outside the range.
    """
    mo, kim, lee = org.users["mo"], org.users["kim"], org.users["lee"]
    rows = [
        ("I1", None, None, "sev1", 5, 65, "HighErrorRate", "Timeout too low #config-drift"),
        ("I2", None, None, "sev1", 15, 180, "HighErrorRate", "#Config-Drift, #capacity"),
        ("I3", None, None, "sev2", 10, None, "DiskFull", None),
        ("I4", None, None, "", None, None, None, None),
        ("I5", bff, None, "sev2", 2, 30, None, "Pods short of memory #capacity"),
        ("I6", None, org.mobile, "sev3", 20, 60, None, None),
    ]
    made = {}
    for day, (name, on, owner, severity, ack, resolved, alert, causes) in enumerate(rows):
        opened = day * DAY
        actor = kim if on is bff else mo
        incident = open_incident(
            name, by=actor.username, on=on, minutes=opened, severity=severity, owner_team=owner
        )
        if alert:
            Incident.objects.filter(pk=incident.pk).update(labels={"alertname": alert})
        if ack is not None:
            services.incident_acknowledge(actor=lee, incident=incident, at=at(opened + ack))
        if resolved is not None:
            services.incident_resolve(actor=lee, incident=incident, at=at(opened + resolved))
        if causes:
            review = PostIncidentReview.objects.filter(incident=incident).first()
            review = review or services.review_start(actor=lee, incident=incident)
            services.review_update(actor=lee, review=review, causes=causes)
        made[name] = incident
    for n, minutes in enumerate([-DAY, 1 * DAY, 2 * DAY, 8 * DAY, 9 * DAY]):
        deploy(f"d{n}", minutes=minutes - 60)  # the first on 1 March, the rest later
    deploy("feb", minutes=-5 * DAY)  # 25 February
    return made


def _times(rows) -> dict[str, tuple]:
    return {r.key: (r.times.incidents, r.times.mtta, r.times.mttr) for r in rows}


def test_mtta_and_mttr_by_severity_and_team(org, world):
    report = incident_report(user=org.users["lee"], window=MARCH)

    # Overall MTTA: median(120, 300, 600, 900, 1200) = 600; MTTR: median(1800, 3600, 3900,
    # 10800) = (3600 + 3900) / 2.
    assert (report.overall.incidents, report.overall.mtta, report.overall.mttr) == (6, 600, 3750)
    assert _times(report.by_severity) == {
        "sev1": (2, 600.0, 7350.0),  # (300 + 900) / 2, (3900 + 10800) / 2
        "sev2": (2, 360.0, 1800.0),  # (120 + 600) / 2; I3 is open
        "sev3": (1, 1200.0, 3600.0),
        "": (1, None, None),
    }
    assert [r.key for r in report.by_severity] == ["sev1", "sev2", "sev3", ""]
    assert _times(report.by_team) == {
        "checkout": (4, 600.0, 7350.0),  # I1-I4: median(300, 600, 900); (3900 + 10800) / 2
        "mobile": (2, 660.0, 2700.0),  # I5 and I6, owned by Mobile: (120 + 1200) / 2
    }


def test_incidents_per_production_deployment(org, world):
    report = incident_report(user=org.users["lee"], window=MARCH)

    rates = {
        r.team.slug: (r.deployments, r.incidents, r.per_deployment) for r in report.per_deployment
    }
    # Checkout: 5 incidents of its service (I6 too: deployments are the service's) / 5
    # deployments in March; Mobile: one incident, no deployment.
    assert rates == {"checkout": (5, 5, 1.0), "mobile": (0, 1, None)}
    checkout = next(r for r in report.per_deployment if r.team.slug == "checkout")
    # DORA: I1 (opened T0) follows d0, I2 d1, I3 d2, I4 and I6 d2 too (d3 is later): 3 of 5.
    assert checkout.with_incident == 3


def test_repeat_alerts_and_repeat_causes(org, world):
    report = incident_report(user=org.users["lee"], window=MARCH)

    assert [(a.alertname, a.incidents, a.services) for a in report.repeat_alerts] == [
        ("HighErrorRate", 2, ["Cart API"])
    ]
    assert [(c.tag, [r.incident.title for r in c.reviews]) for c in report.repeat_causes] == [
        ("capacity", ["I2", "I5"]),
        ("config-drift", ["I1", "I2"]),
    ]


def test_a_team_sees_its_own_incidents_and_a_team_filter_keeps_its_own(org, world):
    mobile = incident_report(user=org.users["kim"], window=MARCH)
    filtered = incident_report(user=org.users["lee"], window=MARCH, team=org.mobile)

    for report in (mobile, filtered):
        assert report.overall.incidents == 2  # I5 (its service) and I6 (it owns)
        assert [r.key for r in report.by_team] == ["mobile"]
        assert report.repeat_causes == [] and report.repeat_alerts == []


def test_a_range_without_incidents_measures_nothing(org, world):
    report = incident_report(
        user=org.users["lee"], window=Window(date(2026, 1, 1), date(2026, 1, 31))
    )

    assert report.overall == ResponseTimes(0, 0, None, 0, None)
    assert (report.by_severity, report.by_team, report.per_deployment) == ([], [], [])
