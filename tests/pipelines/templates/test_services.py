"""Templates, their immutable versions and assignments: leads only, refused as a whole."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from pipelines.models import PipelineTemplate, ServiceTemplate, TemplateStage, TemplateVersion
from pipelines.templates import services
from portal.exceptions import ApplicationError
from portal.models import AuditEvent
from tests.pipelines.templates.conftest import STANDARD


def test_it_creates_a_template_with_its_first_version(org, standard, envs):
    version = standard.versions.get()

    assert standard.slug == "standard-service"
    assert standard.owner_team == org.checkout
    assert (version.number, version.note, version.created_by) == (
        1,
        "First version.",
        org.users["lee"],
    )
    stages = list(version.stages.all())
    assert [s.name for s in stages] == [s["name"] for s in STANDARD]
    assert [s.position for s in stages] == list(range(1, 9))
    assert stages[4].environment == envs.staging
    assert stages[1].gate == "coverage >= 80%"
    assert AuditEvent.objects.filter(action="pipeline_template.create").count() == 1


def test_gates_and_matches_are_stored_in_one_spelling(org, envs):
    template = services.template_create(
        actor=org.users["lee"],
        name="Tidy",
        stages=[
            {"name": "Build", "kind": "build", "match": " *make* || *bazel* "},
            {"name": "Tests", "kind": "unit_test", "gate": "Coverage>=80%  and  flaky<2"},
        ],
    )

    build, tests = template.versions.get().stages.all()
    assert build.match == "*make*|*bazel*"
    assert tests.gate == "coverage >= 80% and flaky < 2"


def test_a_new_version_leaves_the_earlier_ones_as_they_were(org, standard):
    version = services.template_new_version(
        actor=org.users["lee"],
        template=standard,
        stages=[*STANDARD[:3], {"name": "Dependencies", "kind": "dependency_scan"}, *STANDARD[3:]],
        note="Scan dependencies too.",
    )

    assert version.number == 2
    assert version.stages.count() == 9
    assert TemplateVersion.objects.get(template=standard, number=1).stages.count() == 8


def test_a_new_version_says_what_changed_and_changes_something(org, standard):
    with pytest.raises(ApplicationError) as caught:
        services.template_new_version(
            actor=org.users["lee"], template=standard, stages=STANDARD, note=" "
        )
    assert caught.value.extra == {"note": ["Say what changed in this version."]}

    with pytest.raises(ApplicationError) as caught:
        services.template_new_version(
            actor=org.users["lee"], template=standard, stages=STANDARD, note="Again"
        )
    assert caught.value.extra == {"stages": ["Nothing changed from version 1."]}


def test_bad_stages_save_nothing(org, envs):
    bad = [
        {"name": "Build", "kind": "build"},
        {"name": "Ship", "kind": "deploy", "environment": "production"},
        {"name": "Tests", "kind": "unit_test", "gate": "coverage >= 80 %"},
        {"name": "Scan", "kind": "fuzzing"},
        {"name": "Stage", "kind": "deploy", "environment": "nowhere"},
    ]

    with pytest.raises(ApplicationError) as caught:
        services.template_create(actor=org.users["lee"], name="", stages=bad)

    assert caught.value.extra == {
        "name": ["Name the template."],
        "stages": [
            "Stage 2 (Ship): deploys to production before any test stage.",
            "Stage 3 (Tests): the gate does not parse: expected “and” or the end of the gate, "
            "found “%” at column 16.",
            "Stage 4 (Scan): unknown kind “fuzzing”; one of build, unit_test, "
            "integration_test, static_analysis, dependency_scan, container_scan, "
            "performance_test, deploy, manual_approval.",
            "Stage 5 (Stage): unknown environment “nowhere”.",
        ],
    }
    assert not PipelineTemplate.objects.exists()
    assert not TemplateStage.objects.exists()


def test_a_taken_slug_is_a_field_error(org, standard):
    with pytest.raises(ApplicationError) as caught:
        services.template_create(
            actor=org.users["lee"], name="Other", slug="standard-service", stages=STANDARD
        )
    assert caught.value.extra == {"slug": ["Another template has this slug."]}


def test_a_second_template_of_the_same_name_gets_a_free_slug(org, standard):
    again = services.template_create(
        actor=org.users["lee"], name="Standard service", stages=STANDARD
    )

    assert again.slug == "standard-service-2"


@pytest.mark.parametrize("username", ["sam", "mo", "val", "kim"])
def test_only_leads_write(org, service, standard, username):
    user = org.users[username]
    with pytest.raises(PermissionDenied):
        services.template_create(actor=user, name="Mine", stages=STANDARD)
    with pytest.raises(PermissionDenied):
        services.template_new_version(actor=user, template=standard, stages=STANDARD[:2], note="x")
    with pytest.raises(PermissionDenied):
        services.service_assign(actor=user, service=service, template=standard)


def test_admins_write_too(org, envs):
    assert services.template_create(actor=org.users["ada"], name="Admin's", stages=STANDARD)


def test_assigning_again_replaces_and_unassigning_removes(org, service, standard, envs):
    other = services.template_create(actor=org.users["lee"], name="Other", stages=STANDARD)

    services.service_assign(actor=org.users["lee"], service=service, template=standard)
    services.service_assign(actor=org.users["ada"], service=service, template=other)

    assignment = ServiceTemplate.objects.get()
    assert (assignment.template, assignment.assigned_by) == (other, org.users["ada"])
    services.service_unassign(actor=org.users["lee"], service=service)
    assert not ServiceTemplate.objects.exists()
    with pytest.raises(ApplicationError):
        services.service_unassign(actor=org.users["lee"], service=service)
    actions = list(
        AuditEvent.objects.filter(action__startswith="pipeline_template.a").values_list(
            "action", flat=True
        )
    )
    assert actions.count("pipeline_template.assign") == 2
