"""Measured quality targets read the deliverable's services' delivery data over their window."""

from __future__ import annotations

from datetime import date

from roadmap import services
from roadmap.selectors import rag_of
from tests.factories import ServiceFactory, deploy_daily


def _targets(org, deliverable, window_days: int):
    return services.deliverable_update(
        actor=org.users["lee"],
        deliverable=deliverable,
        targets=[{"name": "Deploys at least daily", "metric": "deploys_per_day",
                  "comparison": "gte", "threshold": 1, "window_days": window_days}],
    )  # fmt: skip


def test_deploys_per_day_over_the_window(org, deliverable, service):
    """10 daily production deploys of Cart API (today and the 9 days before).
    Over 30 days: 10 / 30 = 0.33 a day, under 1: missed. Over 10 days: 10 / 10 = 1: met."""
    deploy_daily(service, 10)
    today = date.today()
    status = rag_of(_targets(org, deliverable, 30), today=today)
    assert [(t.met, t.detail) for t in status.targets] == [
        (False, "0.3 over 30 days (wanted at least 1)")
    ]
    assert status.rag.quality.colour == "red"
    status = rag_of(_targets(org, deliverable, 10), today=today)
    assert [(t.met, t.detail) for t in status.targets] == [
        (True, "1 over 10 days (wanted at least 1)")
    ]


def test_only_the_deliverables_services_count(org, deliverable):
    """Pricing deploys daily but the deliverable names Cart API only, which never deployed."""
    deploy_daily(ServiceFactory(team=org.checkout, slug="pricing"), 30)
    status = rag_of(_targets(org, deliverable, 30), today=date.today())
    assert [(t.met, t.detail) for t in status.targets] == [
        (False, "0 over 30 days (wanted at least 1)")
    ]


def test_no_data_is_unknown_not_met(org, deliverable):
    """The change failure rate of a service with no deployment is not a number: amber."""
    status = rag_of(deliverable, today=date.today())
    cfr = status.targets[0]
    assert (cfr.met, cfr.detail) == (None, "no data in the last 30 days (wanted at most 10)")
    assert status.rag.quality.colour == "amber"
