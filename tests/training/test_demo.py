"""The training demo: Mobile's plan answers its monitoring gap; the matrix shows why."""

from __future__ import annotations

from maturity import demo as maturity_demo
from portal import demo as portal_demo
from training import demo as training_demo
from training.models import TrainingPlan
from training.selectors import plan_progress, training_needs


def test_mobiles_plan_answers_its_monitoring_gap(db):
    portal_demo.load()
    maturity_demo.load()
    training_demo.load()
    training_demo.load()  # a second load adds nothing

    mobile = TrainingPlan.objects.get(team__name="Mobile")
    assert mobile.items.filter(skill__slug="observability", attendees__username="kim").exists()
    needs = {
        (n.skill.slug, n.user.username if n.user else None) for n in training_needs(mobile.team)
    }
    assert ("observability", None) in needs  # the maturity gap
    assert ("observability", "kim") in needs  # kim is aware (1), members should practise (2)
    checkout = plan_progress(TrainingPlan.objects.get(team__name="Checkout"))
    assert (checkout.done, checkout.items, checkout.over_budget) == (1, 1, False)
