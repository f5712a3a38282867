"""The training pages: plans (create, add an item, complete it), and the skills matrix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from training import services
from training.models import SkillRating, TrainingItem, TrainingPlan


@pytest.fixture
def terraform(org):
    return services.skill_create(actor=org.users["lee"], slug="terraform", name="Terraform")


def test_a_lead_creates_a_plan_adds_an_item_and_the_attendee_completes_it(
    client_for, org, terraform
):
    lee = client_for("lee")
    created = lee.post("/training/", {"team": "checkout", "period": "2026-Q4", "budget": "900"})
    assert created.status_code == 302
    url = "/training/plans/checkout-2026-q4/"
    lee.post(
        url,
        {
            "form": "item", "kind": "course", "title": "Terraform basics", "skill": "terraform",
            "cost": "1000", "attendees": [org.users["mo"].pk],
        },
    )  # fmt: skip
    item = TrainingItem.objects.get()
    page = lee.get(url).content.decode()
    assert "Terraform basics" in page and "over budget" in page

    client_for("mo").post(
        url,
        {"form": "done", "item": item.pk, "status": "done", "evidence": "https://cert.example/1"},
    )
    item.refresh_from_db()
    assert (item.status, item.evidence) == ("done", "https://cert.example/1")
    assert "1 of 1 items done" in lee.get(url).content.decode()


def test_bad_plans_and_items_get_field_errors(client_for, org, terraform):
    lee = client_for("lee")
    bad = lee.post("/training/", {"team": "checkout", "period": "Q4", "budget": "-5"})
    assert bad.status_code == 200 and not TrainingPlan.objects.exists()
    errors = bad.context["form"].errors
    assert "period" in errors and "budget" in errors

    services.plan_create(
        actor=org.users["lee"], team=org.checkout, period="2026-Q4", budget=Decimal(1)
    )
    late = lee.post(
        "/training/plans/checkout-2026-q4/",
        {"form": "item", "kind": "course", "title": "X", "cost": "0",
         "starts_on": "2026-12-02", "ends_on": "2026-12-01"},
    )  # fmt: skip
    assert "Not before the start." in late.content.decode()
    assert not TrainingItem.objects.exists()
    assert client_for("mo").post("/training/", {"team": "checkout"}).status_code == 200
    assert TrainingPlan.objects.count() == 1  # members do not plan: the form is not even shown


def test_the_matrix_self_rating_and_confirmation(client_for, org, terraform):
    client_for("mo").post(
        "/training/skills/?team=checkout", {"form": "self", "skill": "terraform", "level": "2"}
    )
    rating = SkillRating.objects.get()
    assert (rating.self_level, rating.confirmed_level) == (2, None)

    client_for("lee").post(
        "/training/skills/?team=checkout", {"form": "confirm", "rating": rating.pk, "level": "2"}
    )
    rating.refresh_from_db()
    assert rating.confirmed_level == 2
    page = client_for("lee").get("/training/skills/?team=checkout").content.decode()
    assert "2✓" in page
    assert client_for("kim").get("/training/plans/checkout-2026-q4/").status_code == 404


def test_a_lead_accepts_a_suggested_need_into_the_plan(client_for, org, terraform):
    from training.models import TargetProficiency

    TargetProficiency.objects.create(skill=terraform, role="member", level=2)
    services.plan_create(
        actor=org.users["lee"], team=org.checkout, period="2026-Q4", budget=Decimal(0)
    )
    lee = client_for("lee")
    page = lee.get("/training/plans/checkout-2026-q4/").content.decode()
    assert (
        "Accept into plan" in page and "none in Terraform, the member target is practising" in page
    )

    lee.post(
        "/training/plans/checkout-2026-q4/",
        {
            "form": "item", "kind": "course", "title": "Terraform for Mo", "skill": "terraform",
            "cost": "0", "attendees": org.users["mo"].pk,
            "reason": "none in Terraform, the member target is practising",
        },
    )  # fmt: skip

    item = TrainingItem.objects.get()
    assert (item.reason, [a.username for a in item.attendees.all()]) == (
        "none in Terraform, the member target is practising",
        ["mo"],
    )
