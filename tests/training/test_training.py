"""Skills matrix, training needs derived from it and from maturity gaps, plans and progress."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from maturity import actions as maturity_actions
from maturity import services as maturity
from maturity.catalogue import parse_model
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Role
from tests.maturity.test_workflow import SMALL_MODEL
from training import services
from training.models import TargetProficiency, TrainingItem
from training.selectors import plan_progress, training_needs


@pytest.fixture
def skills(org):
    lee = org.users["lee"]
    return {
        "terraform": services.skill_create(
            actor=lee, slug="terraform", name="Terraform", tool="terraform"
        ),
        "pipelines": services.skill_create(
            actor=lee,
            slug="pipelines",
            name="Pipeline design",
            capability_key="deployment-automation",
        ),
    }


def test_the_skills_matrix_self_rated_and_confirmed(org, skills):
    mo, lee = org.users["mo"], org.users["lee"]

    rating = services.skill_rate_self(actor=mo, skill=skills["terraform"], level=2)
    services.skill_confirm(actor=lee, rating=rating, level=1)
    rating.refresh_from_db()
    assert (rating.self_level, rating.confirmed_level, rating.level) == (2, 1, 1)

    rating = services.skill_rate_self(actor=mo, skill=skills["terraform"], level=3)
    assert (rating.confirmed_level, rating.level) == (None, 3)  # a new self-rating reopens it
    with pytest.raises(PermissionDenied):
        services.skill_confirm(actor=mo, rating=rating, level=3)
    for bad in (5, -1, "3", True):
        with pytest.raises(ApplicationError):
            services.skill_rate_self(actor=mo, skill=skills["terraform"], level=bad)


def test_needs_come_from_the_matrix_and_from_maturity_gaps(org, skills):
    """Members should be proficient (3) in Terraform: mo rated 1 (aware), so mo needs it; mo's
    teammate val is a viewer (no target for viewers). Checkout's deployment automation is 2
    against a target of 4: Pipeline design (linked to it) is a team-wide need."""
    lee, mo = org.users["lee"], org.users["mo"]
    TargetProficiency.objects.create(skill=skills["terraform"], role=Role.MEMBER, level=3)
    services.skill_rate_self(actor=mo, skill=skills["terraform"], level=1)
    model = maturity.model_import(actor=lee, spec=parse_model(SMALL_MODEL))
    round_ = maturity.assessment_create(actor=mo, team=org.checkout, model=model, period="2026-Q3")
    maturity.ratings_update(
        actor=mo,
        assessment=round_,
        changes={"deployment-automation": {"level": 2}, "learning-culture": {"level": 3}},
    )
    maturity.assessment_submit(actor=mo, assessment=round_)
    maturity_actions.targets_set(actor=lee, model=model, levels={"deployment-automation": 4})

    needs = [
        (n.skill.slug, n.user and n.user.username, n.reasons) for n in training_needs(org.checkout)
    ]

    assert needs == [
        (
            "pipelines",
            None,
            ["maturity gap: Deployment automation at 2, target 4 (2026-Q3)"],
        ),
        ("terraform", "mo", ["aware in Terraform, the member target is proficient"]),
    ]


def test_a_plan_its_items_and_progress(org, skills):
    lee, mo = org.users["lee"], org.users["mo"]
    plan = services.plan_create(
        actor=lee, team=org.checkout, period="2026-Q4", budget=Decimal(1000)
    )
    with pytest.raises(ConflictError):
        services.plan_create(actor=lee, team=org.checkout, period="2026-Q4", budget=Decimal(1))
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=mo, team=org.checkout, period="2027-Q1", budget=Decimal(1))

    course = services.item_add(
        actor=lee, plan=plan, kind="course", title="Terraform up and running",
        skill=skills["terraform"], cost=Decimal(600), attendees=[mo],
        reason="aware in Terraform, the member target is proficient",
    )  # fmt: skip
    services.item_add(actor=lee, plan=plan, kind="workshop", title="Pipelines", cost=Decimal(500))
    dropped = services.item_add(actor=lee, plan=plan, kind="pairing", title="X", cost=Decimal(99))
    services.item_update(actor=lee, item=dropped, status="cancelled")
    with pytest.raises(ApplicationError, match="ends before it starts"):
        services.item_add(
            actor=lee, plan=plan, kind="course", title="Late",
            starts_on=date(2026, 12, 2), ends_on=date(2026, 12, 1),
        )  # fmt: skip
    with pytest.raises(ApplicationError, match="completed"):
        services.item_update(actor=mo, item=course, status="done")
    services.item_update(actor=mo, item=course, status="done", evidence="https://cert.example/1")
    with pytest.raises(PermissionDenied):
        services.item_update(actor=org.users["kim"], item=course, status="planned")

    progress = plan_progress(plan)
    # 2 items counted (the cancelled one left out), 1 done; 600 + 500 = 1,100 > 1,000.
    assert (progress.items, progress.done, progress.spent) == (2, 1, Decimal(1100))
    assert progress.share_done == 0.5 and progress.over_budget
    assert TrainingItem.objects.get(pk=course.pk).evidence == "https://cert.example/1"
