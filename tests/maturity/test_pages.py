"""The maturity pages: start a draft, fill it, submit, review; heat map; access."""

from __future__ import annotations

import pytest

from maturity import services
from maturity.catalogue import parse_model
from maturity.models import Assessment
from tests.maturity.test_workflow import SMALL_MODEL


@pytest.fixture
def small(org):
    return services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))


def _ratings(**levels) -> dict:
    data = {}
    for key, level in levels.items():
        key = key.replace("_", "-")
        data |= {f"level-{key}": str(level), f"comment-{key}": "", f"evidence-{key}": ""}
    return data


def test_a_member_starts_fills_and_submits_then_a_lead_signs_off(client_for, org, small):
    mo, lee = client_for("mo"), client_for("lee")

    started = mo.post(
        "/maturity/", {"team": "checkout", "model": small.pk, "period": "2026-Q3"}, follow=True
    )
    assert started.redirect_chain[-1][0] == "/maturity/assessments/checkout-2026-q3/"
    url = "/maturity/assessments/checkout-2026-q3/"
    assert "Deployment automation" in started.content.decode()

    mo.post(url, {**_ratings(deployment_automation=2, learning_culture=3), "then": "submit"})
    assert Assessment.objects.get().status == "submitted"
    assert "Sign off" in lee.get(url).content.decode()
    assert "Sign off" not in mo.get(url).content.decode()

    lee.post(url + "review/", {"decision": "accept"})
    assessment = Assessment.objects.get()
    assert assessment.status == "reviewed"
    heat = lee.get("/maturity/").content.decode()
    assert 'class="lvl lvl-2">2<' in heat and 'class="lvl lvl-3">3<' in heat
    trend = lee.get("/maturity/?capability=learning-culture").content.decode()
    assert "Trend: Learning culture" in trend
    assert '"name":"Checkout","x":["2026-Q3"],"y":[3]' in trend


def test_bad_evidence_gets_a_field_error_and_saves_nothing(client_for, org, small):
    services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=small, period="2026-Q3"
    )
    url = "/maturity/assessments/checkout-2026-q3/"
    data = _ratings(deployment_automation=2, learning_culture=3)
    data["evidence-learning-culture"] = "https://wiki.example/ok\nnot a link"

    response = client_for("mo").post(url, data)

    assert response.status_code == 200
    assert "Not a link: not a link" in response.content.decode()
    assert list(Assessment.objects.get().ratings.values_list("level", flat=True)) == [None, None]


def test_submitting_with_capabilities_unrated_says_which(client_for, org, small):
    services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=small, period="2026-Q3"
    )
    response = client_for("mo").post(
        "/maturity/assessments/checkout-2026-q3/",
        {**_ratings(deployment_automation=2, learning_culture=""), "then": "submit"},
    )

    assert "Not rated yet: Learning culture." in response.content.decode()
    assert Assessment.objects.get().status == "draft"


def test_other_teams_and_readers(client_for, org, small):
    services.assessment_create(
        actor=org.users["mo"], team=org.checkout, model=small, period="2026-Q3"
    )
    url = "/maturity/assessments/checkout-2026-q3/"

    assert client_for("kim").get(url).status_code == 404
    assert client_for("val").get(url).status_code == 200
    assert client_for("val").post(url, _ratings(learning_culture=2)).status_code == 403
    assert client_for("sam").get("/maturity/").status_code == 200
    duplicate = client_for("lee").post(
        "/maturity/", {"team": "checkout", "model": small.pk, "period": "2026-Q3"}
    )
    assert "Checkout has one for 2026-Q3" in duplicate.content.decode()


def test_the_empty_page_says_how_to_get_a_model(client_for, org):
    assert "manage.py maturity_import" in client_for("mo").get("/maturity/").content.decode()
