"""The production-support demo (pipelines/demo_support.py, reporting/demo_slos.py) tells
DEMO.md's story: Mobile's spring incident reviewed with its actions tracked, an alert firing
now on a Payments service, SLOs for every Payments service with that one burning."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from pipelines.models import Incident, IncidentStatus, PostIncidentReview, ReviewAction
from reporting.slos.models import Slo


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def test_the_demo_tells_the_production_support_story(demo):
    spring = Incident.objects.get(title__startswith="iOS app crashes at checkout")
    assert (spring.severity, spring.status, spring.owner_team.name) == (
        "sev1",
        "resolved",
        "Mobile",
    )
    kinds = list(spring.events.values_list("kind", flat=True))
    assert kinds[0] == "opened" and kinds[-1] == "resolved" and "acknowledged" in kinds

    review = spring.review
    assert review.status == PostIncidentReview.Status.PUBLISHED and "#monitoring" in review.causes
    actions = {a.title: a for a in review.actions.all()}
    assert len(actions) == 4
    assert [a.title for a in actions.values() if a.status == ReviewAction.Status.DONE] == [
        "Alert on crash-free sessions below 99.5%"
    ]
    assert [a.title for a in actions.values() if a.is_overdue] == [
        "Runbook for expedited App Store reviews"
    ]
    became = {
        a.title: (a.improvement_action_id, a.initiative_id, a.training_item_id)
        for a in actions.values()
    }
    assert became["Alert on crash-free sessions below 99.5%"][0] is not None
    assert became["Staged rollouts for the iOS app (5% first)"][1] is not None
    assert became["On-call training for the Mobile team"][2] is not None

    firing = Incident.objects.get(source__slug="acme-alertmanager")
    assert (firing.service.slug, firing.severity) == ("fraud-scoring", "sev2")
    assert firing.status == IncidentStatus.ACKNOWLEDGED and firing.resolved_at is None

    slos = {s.service.slug: s for s in Slo.objects.select_related("service")}
    assert set(slos) == {"payments-api", "ledger", "fraud-scoring"}
    # The alert has been firing 40 minutes: over the last hour 40/60 of the time was bad,
    # against a budget of 0.5%: a burn rate of 133, far over the page threshold (13.44 for 28
    # days) in both the 1-hour and 5-minute windows.
    burning = slos["fraud-scoring"]
    assert burning.level == Slo.Level.PAGE and burning.burn_rates["1h"] > 100
    assert burning.alerts.filter(resolved_at__isnull=True).exists()
    assert all(s.level != Slo.Level.PAGE for slug, s in slos.items() if slug != "fraud-scoring")
