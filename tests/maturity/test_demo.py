"""The maturity demo tells DEMO.md's story: three rounds per team, Checkout's deployment
automation rising, Mobile's monitoring gap, Checkout's current round still a draft."""

from __future__ import annotations

from maturity import demo as maturity_demo
from maturity.models import Assessment, EvidenceFile, ImprovementAction, MaturityModel, Rating
from maturity.selectors import gaps
from portal import demo as portal_demo
from portal.models import Team


def _level(team: str, period: str, key: str) -> int:
    return Rating.objects.get(
        assessment__team__name=team, assessment__period=period, capability__key=key
    ).level


def test_the_demo_rounds_tell_the_story(db):
    portal_demo.load()
    maturity_demo.load()
    maturity_demo.load()  # a second load adds nothing

    assert Assessment.objects.count() == 6 * 3
    assert not Rating.objects.filter(level__isnull=True).exists()
    rising = [_level("Checkout", p, "deployment-automation") for p in ["2026-Q2", "2026-Q3"]]
    assert rising == [2, 4]
    assert _level("Mobile", "2026-Q3", "monitoring-and-observability") == 1
    assert Assessment.objects.get(team__name="Checkout", period="2026-Q4").status == "draft"
    assert set(Assessment.objects.filter(period="2026-Q3").values_list("status", flat=True)) == {
        "reviewed"
    }
    mobile_gaps = [
        g for g in gaps(Team.objects.all(), MaturityModel.objects.get()) if g.team.name == "Mobile"
    ]
    assert ("monitoring-and-observability", 1, 4) in [
        (g.capability.key, g.level, g.target) for g in mobile_gaps
    ]
    assert ImprovementAction.objects.get().team.name == "Mobile"
    (review,) = EvidenceFile.objects.filter(rating__assessment__team__name="Mobile")
    assert (review.name, review.rating.capability.key) == (
        "spring-incident-review.md",
        "monitoring-and-observability",
    )
