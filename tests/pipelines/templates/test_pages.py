"""The template pages: leads get the forms, others read; the conformance page shows a missing
security stage and the deployment that skipped it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipelines.models import PipelineTemplate, ServiceTemplate
from pipelines.templates import services

LIST = "/pipelines/templates/"
CONFORMANCE = "/pipelines/conformance/"
STAGES_TEXT = """Build | build
Unit tests | unit_test | coverage >= 80%
# security
Trivy | container scan | critical_vulnerabilities == 0
Deploy staging | deploy | | staging
Approve production | manual_approval
Deploy production | deploy | | production | *release*|*deploy-prod*
"""


def test_the_urls():
    assert reverse("pipeline_template_list") == LIST
    assert reverse("pipeline_template_detail", args=["x"]) == "/pipelines/templates/x/"
    assert reverse("template_conformance") == CONFORMANCE


def test_empty_states_say_what_to_do(client_for, db):
    lead = client_for("lee").get(LIST).content.decode()
    member = client_for("mo").get(LIST).content.decode()

    assert "Design the first one with the form below" in lead
    assert "A DevOps lead designs them" in member
    assert "No pipeline templates yet" in client_for("mo").get(CONFORMANCE).content.decode()


def test_templates_are_in_the_navigation_for_everyone(client_for, db):
    page = client_for("val").get(LIST).content.decode()

    assert f'<a href="{LIST}" class="active" aria-current="page">Templates</a>' in page


def test_a_lead_creates_a_template_from_lines(client_for, envs, org):
    response = client_for("lee").post(
        LIST, {"new-name": "Web", "new-owner_team": "checkout", "new-stages": STAGES_TEXT}
    )

    template = PipelineTemplate.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pipelines/templates/{template.slug}/"
    stages = list(template.versions.get().stages.all())
    assert [s.kind for s in stages][2] == "container_scan"
    assert stages[-1].match == "*release*|*deploy-prod*"


def test_line_numbered_errors_and_nothing_saved(client_for, envs):
    text = (
        "Build | build\nShip | deploy | | production\n\nTests | unit_test | coverage >>= 1\n"
        "lonely\n"
    )

    page = client_for("lee").post(LIST, {"new-name": "Web", "new-stages": text}).content.decode()

    assert "Line 5: give at least a name and a kind" in page
    text = text.replace("lonely\n", "")
    page = client_for("lee").post(LIST, {"new-name": "Web", "new-stages": text}).content.decode()
    assert "Line 2 (Ship): deploys to production before any test stage." in page
    assert (
        "Line 4 (Tests): the gate does not parse: expected a number, found “&gt;=” at column 11."
        in page
    )
    assert not PipelineTemplate.objects.exists()


def test_a_lead_sees_the_forms_and_a_member_does_not(client_for, standard):
    url = f"{LIST}{standard.slug}/"
    lead = client_for("lee").get(url).content.decode()
    member = client_for("mo").get(url).content.decode()

    assert "Save the next version" in lead
    assert "Save the next version" not in member
    assert "New template" in client_for("lee").get(LIST).content.decode()
    assert "New template" not in client_for("mo").get(LIST).content.decode()
    assert "Assign a template" in client_for("lee").get(CONFORMANCE).content.decode()
    assert "Assign a template" not in client_for("mo").get(CONFORMANCE).content.decode()


@pytest.mark.parametrize("url", [LIST, f"{LIST}standard-service/", CONFORMANCE])
def test_a_member_cannot_post(client_for, standard, url):
    assert client_for("mo").post(url, {"form": "assign"}).status_code == 403


def test_the_detail_shows_stages_versions_and_each_configuration(client_for, standard):
    url = f"{LIST}{standard.slug}/"

    github = client_for("mo").get(url).content.decode()
    jenkins = client_for("mo").get(url, {"config": "jenkins"}).content.decode()

    assert "coverage &gt;= 80%" in github
    assert "Version 1" in github
    assert "actions/checkout@v4" in github
    assert "stage(&#x27;Deploy production&#x27;)" in jenkins
    assert client_for("mo").get(url, {"version": 7}).status_code == 404


def test_a_lead_saves_the_next_version(client_for, standard):
    url = f"{LIST}{standard.slug}/"
    page = client_for("lee").get(url)
    text = page.context["form"].initial["stages"] + "\nSmoke | integration_test\n"

    response = client_for("lee").post(
        url, {"version-stages": text, "version-note": "Smoke test after production."}
    )

    assert response.status_code == 302
    latest = standard.versions.order_by("-number").first()
    assert (latest.number, latest.stages.count()) == (2, 9)


def test_a_lead_assigns_and_the_page_shows_the_missing_security_stage(
    client_for, standard, service, envs, record
):
    run = record.run(
        service, ["build", "unit-tests", "deploy-staging", "approve", "deploy-production"]
    )
    record.deploy(service, envs.production, run=run, external_id="deploy-42")

    response = client_for("lee").post(
        CONFORMANCE, {"form": "assign", "service": "cart-api", "template": standard.slug}
    )

    assert response.status_code == 302
    assert ServiceTemplate.objects.get().template == standard
    page = client_for("mo").get(CONFORMANCE).content.decode()
    # No SAST, container scan or load test job ran: 5 of 8 stages present.
    assert "63%" in page
    assert '<span class="badge badge-red">missing</span> <strong>Container scan</strong>' in page
    assert "<code>deploy-42</code>" in page
    assert '<span class="badge badge-red">SAST</span>' in page


def test_conformance_filters_by_team_and_template(client_for, org, standard, service):
    services.service_assign(actor=org.users["lee"], service=service, template=standard)

    shown = client_for("lee").get(CONFORMANCE, {"team": "checkout"}).content.decode()
    hidden = client_for("lee").get(CONFORMANCE, {"team": "mobile"}).content.decode()

    assert "Cart API" in shown
    assert "No service matches" in hidden


def test_a_lead_removes_an_assignment(client_for, org, standard, service):
    services.service_assign(actor=org.users["lee"], service=service, template=standard)

    client_for("lee").post(CONFORMANCE, {"form": "unassign", "service": "cart-api"})

    assert not ServiceTemplate.objects.exists()
