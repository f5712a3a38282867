"""Targets, the gaps below them, and actions planned against them."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from maturity import actions as maturity_actions
from maturity import services
from maturity.catalogue import parse_model
from maturity.models import ImprovementAction, TargetLevel
from maturity.selectors import gaps
from portal.exceptions import ApplicationError
from portal.models import Team
from tests.maturity.test_workflow import SMALL_MODEL


@pytest.fixture
def reviewed(org):
    """Checkout rated deployment automation 2 and learning culture 4, reviewed."""
    lee, mo = org.users["lee"], org.users["mo"]
    model = services.model_import(actor=lee, spec=parse_model(SMALL_MODEL))
    assessment = services.assessment_create(
        actor=mo, team=org.checkout, model=model, period="2026-Q3"
    )
    services.ratings_update(
        actor=mo,
        assessment=assessment,
        changes={"deployment-automation": {"level": 2}, "learning-culture": {"level": 4}},
    )
    services.assessment_submit(actor=mo, assessment=assessment)
    services.assessment_review(actor=lee, assessment=assessment, accept=True)
    return model


def test_gaps_are_the_levels_below_target_largest_first(org, reviewed):
    """Targets 4 and 3: deployment automation 2 -> 4 is a gap of 2; learning culture 4 >= 3
    is none."""
    maturity_actions.targets_set(
        actor=org.users["lee"],
        model=reviewed,
        levels={"deployment-automation": 4, "learning-culture": 3},
    )

    found = gaps(Team.objects.all(), reviewed)

    assert [(g.team.slug, g.capability.key, g.level, g.target, g.size) for g in found] == [
        ("checkout", "deployment-automation", 2, 4, 2)
    ]


def test_only_leads_set_targets_and_only_levels_of_the_model(org, reviewed):
    with pytest.raises(PermissionDenied):
        maturity_actions.targets_set(
            actor=org.users["mo"], model=reviewed, levels={"learning-culture": 3}
        )
    with pytest.raises(ApplicationError):
        maturity_actions.targets_set(actor=org.users["lee"], model=reviewed, levels={"nope": 3})
    with pytest.raises(ApplicationError):
        maturity_actions.targets_set(
            actor=org.users["lee"], model=reviewed, levels={"learning-culture": 9}
        )
    assert not TargetLevel.objects.exists()


def test_the_gaps_page_plans_an_action(client_for, org, reviewed):
    lee = client_for("lee")
    lee.post(
        "/maturity/gaps/",
        {"form": "targets", "deployment-automation": "4", "learning-culture": ""},
    )
    page = lee.get("/maturity/gaps/").content.decode()
    assert "Raise deployment automation from 2 to 4" in page

    mo = client_for("mo")
    mo.post(
        "/maturity/gaps/",
        {
            "form": "action",
            "team": "checkout",
            "capability_key": "deployment-automation",
            "title": "Adopt the standard pipeline",
            "due_date": "2026-12-31",
        },
    )
    action = ImprovementAction.objects.get()
    assert (action.team, action.title, str(action.due_date)) == (
        org.checkout,
        "Adopt the standard pipeline",
        "2026-12-31",
    )
    assert "Save targets" not in mo.get("/maturity/gaps/").content.decode()
    refused = client_for("val").post(
        "/maturity/gaps/",
        {"form": "action", "team": "checkout", "capability_key": "x", "title": "y"},
    )
    assert refused.status_code == 403


def test_actions_get_an_owner_from_the_team_and_are_marked_done(client_for, org, reviewed):
    maturity_actions.targets_set(
        actor=org.users["lee"], model=reviewed, levels={"deployment-automation": 4}
    )
    mo = client_for("mo")
    plan = {
        "form": "action",
        "team": "checkout",
        "capability_key": "deployment-automation",
        "title": "Adopt the standard pipeline",
        "due_date": "2020-01-31",
    }
    assert '<option value="mo">' in mo.get("/maturity/gaps/").content.decode()

    stranger = mo.post("/maturity/gaps/", plan | {"owner": "kim"}, follow=True)
    assert "Choose a member or lead of the team." in stranger.content.decode()
    assert not ImprovementAction.objects.exists()

    mo.post("/maturity/gaps/", plan | {"owner": "mo"})
    action = ImprovementAction.objects.get()
    assert action.owner == org.users["mo"]
    page = mo.get("/maturity/gaps/").content.decode()
    assert "overdue" in page  # due in 2020, still open

    mo.post("/maturity/gaps/", {"form": "status", "action": action.pk, "status": "done"})
    action.refresh_from_db()
    assert action.status == "done" and not action.is_overdue
    assert (
        client_for("kim")
        .post("/maturity/gaps/", {"form": "status", "action": action.pk, "status": "open"})
        .status_code
        == 404
    )
    assert (
        client_for("sam")
        .post("/maturity/gaps/", {"form": "status", "action": action.pk, "status": "open"})
        .status_code
        == 403
    )
    with pytest.raises(ApplicationError):
        maturity_actions.action_set_status(actor=org.users["mo"], action=action, status="maybe")
