"""Assessments: created with suggestions from measured data, rated, submitted, reviewed."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from maturity import services
from maturity.catalogue import parse_model
from maturity.models import Assessment, MaturityModel, Rating
from portal.exceptions import ApplicationError, ConflictError
from portal.models import AuditEvent
from tests.factories import deploy_daily

SMALL_MODEL = """
slug: small
name: Small model
areas:
  - key: technical
    name: Technical practices
    capabilities:
      - key: deployment-automation
        name: Deployment automation
        check: {metric: deployment_frequency, thresholds: [0.033, 0.143, 1, 3]}
        levels: {1: "Manual", 2: "Monthly", 3: "Weekly", 4: "Daily", 5: "On demand"}
      - key: learning-culture
        name: Learning culture
        levels: {1: "None", 2: "Some", 3: "Regular", 4: "Shared", 5: "Leading"}
"""


@pytest.fixture
def model(org) -> MaturityModel:
    return services.model_import(actor=org.users["lee"], spec=parse_model(SMALL_MODEL))


@pytest.fixture
def daily(service):
    """Cart API deployed to production once a day for the last 90 days: 90 / 90 = 1 a day,
    which meets the thresholds of levels 2 (0.033), 3 (0.143) and 4 (1), not 5 (3)."""
    deploy_daily(service, 90)


def _create(org, model, username="mo", period="2026-Q3") -> Assessment:
    return services.assessment_create(
        actor=org.users[username], team=org.checkout, model=model, period=period
    )


def test_a_draft_gets_the_level_its_measured_data_suggests(org, model, daily):
    assessment = _create(org, model)

    automation = assessment.ratings.get(capability__key="deployment-automation")
    assert (automation.level, automation.suggested_level) == (4, 4)
    assert automation.check_result["value"] == 1.0
    assert automation.check_result["thresholds"] == [0.033, 0.143, 1, 3]
    culture = assessment.ratings.get(capability__key="learning-culture")
    assert (culture.level, culture.suggested_level, culture.check_result) == (None, None, {})
    assert assessment.slug == "checkout-2026-q3" and assessment.status == "draft"


def test_one_assessment_per_team_and_period(org, model):
    _create(org, model)

    with pytest.raises(ConflictError) as refused:
        _create(org, model, username="lee")
    assert "period" in refused.value.extra
    assert Assessment.objects.count() == 1


@pytest.mark.parametrize("period", ["2026-Q5", "2026", "Q3-2026", ""])
def test_a_period_is_a_quarter(org, model, period):
    with pytest.raises(ApplicationError) as refused:
        _create(org, model, period=period)
    assert "period" in refused.value.extra
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("username", ["kim", "val", "sam"])
def test_only_the_teams_members_and_leads_fill_it(org, model, username):
    with pytest.raises(PermissionDenied):
        _create(org, model, username=username)


def test_the_full_round_submit_return_resubmit_accept(org, model, daily):
    mo, lee = org.users["mo"], org.users["lee"]
    assessment = _create(org, model)
    culture = assessment.ratings.get(capability__key="learning-culture")

    with pytest.raises(ApplicationError, match="Rate every capability"):
        services.assessment_submit(actor=mo, assessment=assessment)
    services.rating_update(
        actor=mo,
        rating=culture,
        data={"level": 2, "comment": "Brown bags", "evidence": ["https://wiki/x"]},
    )
    services.assessment_submit(actor=mo, assessment=assessment)
    with pytest.raises(ConflictError):
        services.rating_update(actor=mo, rating=culture, data={"level": 3})
    with pytest.raises(PermissionDenied):
        services.assessment_review(actor=mo, assessment=assessment, accept=True)
    with pytest.raises(ApplicationError, match="Say what to change"):
        services.assessment_review(actor=lee, assessment=assessment, accept=False)

    services.assessment_review(actor=lee, assessment=assessment, accept=False, comment="Evidence?")
    assessment.refresh_from_db()
    assert (assessment.status, assessment.review_comment) == ("returned", "Evidence?")
    services.rating_update(actor=mo, rating=culture, data={"level": 3})
    services.assessment_submit(actor=mo, assessment=assessment)
    services.assessment_review(actor=lee, assessment=assessment, accept=True)

    assessment.refresh_from_db()
    assert (assessment.status, assessment.reviewed_by) == ("reviewed", lee)
    with pytest.raises(ConflictError, match="Only a submitted"):
        services.assessment_review(actor=lee, assessment=assessment, accept=True)
    actions = AuditEvent.objects.filter(action__startswith="assessment.").order_by("pk")
    assert list(actions.values_list("action", flat=True)) == [
        "assessment.create",
        "assessment.submit",
        "assessment.return",
        "assessment.submit",
        "assessment.accept",
    ]


@pytest.mark.parametrize("level", [0, 6, 42])
def test_levels_outside_the_model_are_refused(org, model, level):
    rating = _create(org, model).ratings.first()

    with pytest.raises(ApplicationError, match="1 to 5"):
        services.rating_update(actor=org.users["mo"], rating=rating, data={"level": level})
    assert Rating.objects.get(pk=rating.pk).level == rating.level


def test_editing_a_model_in_use_makes_a_new_version(org, model):
    assessment = _create(org, model)
    renamed = parse_model(SMALL_MODEL.replace('"Weekly"', '"Every week, by a pipeline"'))

    edited = services.model_edit(actor=org.users["lee"], model=model, spec=renamed)

    assert (edited.slug, edited.version) == ("small", 2)
    assessment.refresh_from_db()
    assert assessment.model == model  # the assessment keeps the words it was rated against
    assert (
        model.capabilities.get(key="deployment-automation").levels.get(number=3).description
        == "Weekly"
    )


def test_editing_an_unused_model_keeps_its_version(org, model):
    edited = services.model_edit(
        actor=org.users["lee"],
        model=model,
        spec=parse_model(SMALL_MODEL.replace("Small model", "Tiny")),
    )

    assert (edited.name, edited.version, MaturityModel.objects.count()) == ("Tiny", 1, 1)
