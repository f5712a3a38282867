"""The templates API: create, new versions, rendering, assignments and conformance; who may
write; bad input as field errors with nothing half-saved."""

from __future__ import annotations

import pytest
import yaml

from pipelines.models import PipelineTemplate, ServiceTemplate, TemplateVersion
from pipelines.templates import services
from tests.factories import ServiceFactory
from tests.pipelines.templates.conftest import STANDARD

TEMPLATES = "/api/v1/pipeline-templates/"
ASSIGNMENTS = "/api/v1/template-assignments/"
CONFORMANCE = "/api/v1/template-conformance/"
NEW = {
    "name": "Library",
    "description": "Packages published to the registry.",
    "owner_team": "checkout",
    "stages": [
        {"name": "Build", "kind": "build"},
        {"name": "Tests", "kind": "unit_test", "gate": "coverage >= 90%"},
        {"name": "Audit", "kind": "dependency_scan", "gate": "critical_vulnerabilities == 0"},
        {"name": "Publish", "kind": "deploy", "environment": "production"},
    ],
}


@pytest.fixture
def as_user(org, api_client_for):
    return lambda username: api_client_for(org.users[username])


def test_a_lead_creates_a_template(as_user, envs):
    response = as_user("lee").post(TEMPLATES, NEW, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "library"
    assert body["latest_version"] == 1
    assert [s["name"] for s in body["stages"]] == ["Build", "Tests", "Audit", "Publish"]
    assert body["stages"][3]["environment"] == "production"
    assert body["stages"][2]["patterns"][:2] == ["*dependency*", "*audit*"]
    assert body["versions"] == [
        {
            "number": 1,
            "note": "First version.",
            "created_by": "lee",
            "created_at": body["versions"][0]["created_at"],
        }
    ]


@pytest.mark.parametrize("username", ["mo", "val", "sam", "kim"])
def test_others_cannot_write(as_user, standard, service, username):
    client = as_user(username)

    assert client.post(TEMPLATES, NEW, format="json").status_code == 403
    versions = f"{TEMPLATES}{standard.slug}/versions/"
    new_version = {"note": "x", "stages": STANDARD[:2]}
    assert client.post(versions, new_version, format="json").status_code == 403
    assert (
        client.patch(f"{TEMPLATES}{standard.slug}/", {"name": "x"}, format="json").status_code
        == 403
    )
    assignment = {"service": service.slug, "template": standard.slug}
    assert client.post(ASSIGNMENTS, assignment, format="json").status_code == 403
    assert PipelineTemplate.objects.count() == 1
    assert TemplateVersion.objects.count() == 1
    assert not ServiceTemplate.objects.exists()


def test_everyone_signed_in_reads_templates(as_user, standard, api_client_for):
    listed = as_user("val").get(TEMPLATES).json()
    assert [t["slug"] for t in listed["results"]] == ["standard-service"]
    detail = as_user("kim").get(f"{TEMPLATES}standard-service/").json()
    assert len(detail["stages"]) == 8
    assert api_client_for(None).get(TEMPLATES).status_code == 401


def test_bad_stages_are_field_errors_and_nothing_is_saved(as_user, envs):
    body = {**NEW, "stages": [
        {"name": "Publish", "kind": "deploy", "environment": "production"},
        {"name": "Tests", "kind": "unit_test", "gate": "coverage >= ninety"},
    ]}  # fmt: skip

    response = as_user("lee").post(TEMPLATES, body, format="json")

    assert response.status_code == 400
    assert response.json()["stages"] == [
        "Stage 1 (Publish): deploys to production before any test stage.",
        "Stage 2 (Tests): the gate does not parse: expected a number, found “ninety” at column 13.",
    ]
    assert not PipelineTemplate.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "stages": {}}, "stages"),
        ({**NEW, "stages": []}, "stages"),
        ({**NEW, "stages": [{"name": "Build", "kind": 3}]}, "stages"),
        ({**NEW, "stages": [{"name": "Build", "kind": "build", "when": "always"}]}, "stages"),
        ({**NEW, "colour": "red"}, "colour"),
        ({**NEW, "owner_team": "nobody"}, "owner_team"),
        ({**NEW, "name": ""}, "name"),
        ({k: v for k, v in NEW.items() if k != "stages"}, "stages"),
    ],
)
def test_malformed_input_is_a_400(as_user, envs, body, field):
    response = as_user("lee").post(TEMPLATES, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not PipelineTemplate.objects.exists()


def test_a_lead_saves_the_next_version_and_lists_them(as_user, standard):
    url = f"{TEMPLATES}{standard.slug}/versions/"
    stages = [*STANDARD[:2], {"name": "Integration", "kind": "integration_test"}, *STANDARD[2:]]

    response = as_user("lee").post(
        url, {"note": "Integration tests.", "stages": stages}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["number"] == 2
    assert response.json()["stages"][2]["kind"] == "integration_test"
    versions = as_user("mo").get(url).json()
    assert [(v["number"], len(v["stages"])) for v in versions] == [(2, 9), (1, 8)]
    detail = as_user("mo").get(f"{TEMPLATES}{standard.slug}/").json()
    assert detail["latest_version"] == 2
    assert len(detail["stages"]) == 9


def test_a_version_without_a_note_is_refused(as_user, standard):
    url = f"{TEMPLATES}{standard.slug}/versions/"

    response = as_user("lee").post(url, {"note": "", "stages": STANDARD[:2]}, format="json")

    assert response.status_code == 400
    assert response.json()["note"] == ["Say what changed in this version."]
    assert standard.versions.count() == 1


def test_a_lead_renames_a_template(as_user, standard):
    response = as_user("lee").patch(
        f"{TEMPLATES}{standard.slug}/", {"name": "Web service"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Web service"
    assert response.json()["latest_version"] == 1


def test_it_renders_each_target(as_user, standard):
    client = as_user("val")
    url = f"{TEMPLATES}{standard.slug}/render/"

    github = client.get(url, {"target": "github"})
    gitlab = client.get(url, {"target": "gitlab"}, HTTP_ACCEPT="text/yaml")
    jenkins = client.get(url, {"target": "jenkins"})

    assert github.status_code == gitlab.status_code == jenkins.status_code == 200
    assert github["Content-Type"] == "text/yaml; charset=utf-8"
    assert next(iter(yaml.safe_load(github.content)["jobs"])) == "build"
    assert yaml.safe_load(gitlab.content)["stages"][-1] == "deploy-production"
    assert jenkins["Content-Type"] == "text/plain; charset=utf-8"
    assert "stage('Deploy production')" in jenkins.content.decode()


def test_it_renders_an_earlier_version(org, as_user, standard):
    services.template_new_version(
        actor=org.users["lee"], template=standard, stages=STANDARD[:2], note="Smaller."
    )
    url = f"{TEMPLATES}{standard.slug}/render/"

    latest = yaml.safe_load(as_user("mo").get(url, {"target": "gitlab"}).content)
    first = yaml.safe_load(as_user("mo").get(url, {"target": "gitlab", "version": 1}).content)

    assert len(latest["stages"]) == 2
    assert len(first["stages"]) == 8


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"target": "circleci"}, 400, "target"),
        ({}, 400, "target"),
        ({"target": ""}, 400, "target"),
        ({"target": "github", "version": "two"}, 400, "version"),
        ({"target": "github", "version": 9}, 404, "detail"),
    ],
)
def test_a_bad_render_request_is_refused(as_user, standard, query, status, field):
    response = as_user("mo").get(f"{TEMPLATES}{standard.slug}/render/", query)

    assert response.status_code == status
    assert field in response.json()


def test_a_lead_assigns_reassigns_and_removes(org, as_user, standard, service, envs):
    lee = as_user("lee")
    other = services.template_create(actor=org.users["lee"], name="Other", stages=STANDARD)

    created = lee.post(
        ASSIGNMENTS, {"service": "cart-api", "template": standard.slug}, format="json"
    )
    replaced = lee.post(ASSIGNMENTS, {"service": "cart-api", "template": other.slug}, format="json")

    assert created.status_code == 201, created.content
    assert replaced.status_code == 200
    assert replaced.json() == {
        "service": "cart-api", "team": "checkout", "template": "other", "assigned_by": "lee",
        "assigned_at": replaced.json()["assigned_at"],
    }  # fmt: skip
    assert lee.delete(f"{ASSIGNMENTS}cart-api/").status_code == 204
    assert not ServiceTemplate.objects.exists()
    assert lee.delete(f"{ASSIGNMENTS}cart-api/").status_code == 404


def test_assignments_are_filtered_and_scoped(org, as_user, standard, service):
    app = ServiceFactory(team=org.mobile, name="App", slug="app")
    for target in (service, app):
        services.service_assign(actor=org.users["lee"], service=target, template=standard)

    def slugs(client, **query):
        return [a["service"] for a in client.get(ASSIGNMENTS, query).json()["results"]]

    assert slugs(as_user("lee")) == ["cart-api", "app"]  # by team name: Checkout, Mobile
    assert slugs(as_user("lee"), team="mobile") == ["app"]
    assert slugs(as_user("lee"), template="standard-service") == ["cart-api", "app"]
    assert slugs(as_user("kim")) == ["app"]  # kim is in mobile only
    assert as_user("lee").get(ASSIGNMENTS, {"template": "nope"}).status_code == 400


def test_an_unknown_service_or_template_is_a_field_error(as_user, standard, service):
    lee = as_user("lee")

    assert (
        "service"
        in lee.post(
            ASSIGNMENTS, {"service": "nope", "template": standard.slug}, format="json"
        ).json()
    )
    assert (
        "template"
        in lee.post(ASSIGNMENTS, {"service": "cart-api", "template": "nope"}, format="json").json()
    )
    assert not ServiceTemplate.objects.exists()


def test_conformance_per_service(org, as_user, standard, service, envs, record):
    services.service_assign(actor=org.users["lee"], service=service, template=standard)
    run = record.run(service, ["build", "unit-tests", "deploy-staging", "deploy-production"])
    record.deploy(service, envs.production, run=run, external_id="D1")

    listed = as_user("val").get(CONFORMANCE, {"team": "checkout"})
    one = as_user("val").get(f"{CONFORMANCE}cart-api/", {"days": 7})

    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row == one.json()
    # build, unit tests and both deploys ran: 4 of 8 designed stages
    assert row["conformance"] == 0.5
    assert row["missing"] == ["SAST", "Container scan", "Load test", "Approve production"]
    assert row["skipped_gates"][0]["deployment"] == "D1"
    assert row["skipped_gates"][0]["skipped"] == row["missing"]
    assert as_user("val").get(CONFORMANCE, {"days": 0}).status_code == 400
    assert as_user("kim").get(f"{CONFORMANCE}cart-api/").status_code == 404


def test_the_schema_names_the_stage_kinds(as_user):
    schema = as_user("lee").get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "StageKindEnum" in schema["components"]["schemas"]
    assert "/api/v1/pipeline-templates/{slug}/render/" in schema["paths"]


def test_the_detail_shows_adoption_per_team(org, as_user, standard, service):
    services.service_assign(actor=org.users["lee"], service=service, template=standard)
    ServiceFactory(team=org.checkout, name="Legacy", slug="legacy")

    detail = as_user("mo").get(f"{TEMPLATES}{standard.slug}/").json()

    # Cart API has no runs yet: conformance 0; Legacy follows no template.
    assert detail["adoption"] == [
        {"team": "checkout", "assigned": 1, "team_services": 2, "mean_conformance": 0.0}
    ]
    assert detail["assigned"] == 1
