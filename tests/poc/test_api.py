"""The POC and radar API: a round through the lifecycle, bad input as field errors, access,
and the exports in the Build Your Own Radar format."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from poc import radar_services
from poc.models import Poc, Quadrant
from tests.poc.conftest import run_to_review

PROPOSAL = {
    "title": "Dagster for the nightly jobs",
    "tool": "Dagster",
    "quadrant": "tools",
    "team": "checkout",
    "problem": "Cron jobs fail silently.",
    "problem_key": "orchestration",
    "starts_on": "2026-11-01",
    "ends_on": "2026-12-15",
    "evaluators": ["mo", "ana"],
}
SCORES = {"fit": {"score": 4, "note": "reruns"}, "cost": {"score": 2}, "ops": {"score": 5}}
CRITERIA = [
    {"key": "fit", "name": "Fit", "weight": "3"},
    {"key": "cost", "name": "Cost", "weight": "1"},
    {"key": "ops", "name": "Ops", "weight": "2"},
]


def test_a_round_through_the_api(org, ana, api_client_for):
    mo, lee = api_client_for(org.users["mo"]), api_client_for(org.users["lee"])

    created = mo.post("/api/v1/pocs/", PROPOSAL | {"criteria": CRITERIA}, format="json")
    assert created.status_code == 201, created.content
    url = f"/api/v1/pocs/{created.json()['slug']}/"
    assert created.json()["slug"] == "dagster-for-the-nightly-jobs"
    assert [c["key"] for c in created.json()["criteria"]] == ["fit", "cost", "ops"]

    assert mo.post(url + "approve/").status_code == 403
    assert (
        lee.post(url + "approve/", {"comment": "Go"}, format="json").json()["status"] == "approved"
    )
    assert mo.post(url + "start/").json()["status"] == "running"
    assert mo.post(url + "evaluations/", {"scores": SCORES}, format="json").status_code == 201
    ana_scores = {"fit": {"score": 2}, "cost": {"score": 4}, "ops": {"score": 3}}
    scored = api_client_for(ana).post(url + "evaluations/", {"scores": ana_scores}, format="json")
    assert (scored.status_code, scored.json()["weighted"]) == (201, pytest.approx(16 / 6))
    assert mo.post(url + "review/").json()["status"] == "in_review"
    evidence = mo.post(
        url + "evidence/",
        {"title": "Runbook", "url": "https://wiki.example/dagster"},
        format="json",
    )
    assert evidence.status_code == 201
    decided = lee.post(
        url + "decide/",
        {
            "outcome": "trial",
            "rationale": "Works.",
            "follow_ups": [{"kind": "roadmap", "title": "Move jobs"}],
        },
        format="json",
    )

    body = decided.json()
    assert (decided.status_code, body["status"], body["radar_entry"]) == (200, "decided", "dagster")
    assert body["score"]["weighted"] == pytest.approx(20 / 6)  # hand-computed in test_scoring
    assert body["score"]["spread"] == pytest.approx(4.0 - 16 / 6)
    assert body["decision"]["follow_ups"] == [
        {"kind": "roadmap", "title": "Move jobs", "training_item": None}
    ]
    listed = mo.get(url + "evaluations/").json()
    assert {e["evaluator"]: e["weighted"] for e in listed} == pytest.approx(
        {"mo": 4.0, "ana": 16 / 6}
    )
    radar = api_client_for(org.users["sam"]).get("/api/v1/radar/dagster/").json()
    assert (radar["ring"], radar["pocs"]) == ("trial", ["dagster-for-the-nightly-jobs"])
    assert radar["history"][0]["poc"] == "dagster-for-the-nightly-jobs"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"starts_on": "2026-12-20"}, "ends_on"),
        ({"quadrant": "nope"}, "quadrant"),
        ({"criteria": [{"key": "fit", "name": "Fit", "weight": "0"}]}, "criteria"),
        ({"criteria": [{"key": "fit", "name": "Fit", "weight": "-1"}]}, "criteria"),
        ({"evaluators": ["kim"]}, "evaluators"),  # kim works in Mobile
        ({"title": ""}, "title"),
        ({"budget": "-5"}, "budget"),
    ],
)
def test_bad_proposals_get_field_errors(org, ana, api_client_for, change, field):
    response = api_client_for(org.users["mo"]).post(
        "/api/v1/pocs/", PROPOSAL | change, format="json"
    )

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Poc.objects.exists()


def test_bad_scores_and_double_scoring(org, ana, api_client_for, proposed):
    run_to_review(org, proposed)
    mo = api_client_for(org.users["mo"])
    url = f"/api/v1/pocs/{proposed.slug}/evaluations/"

    out_of_range = mo.post(url, {"scores": SCORES | {"fit": {"score": 6}}}, format="json")
    missing = mo.post(url, {"scores": {"fit": {"score": 3}}}, format="json")
    first = mo.post(url, {"scores": SCORES}, format="json")
    again = mo.post(url, {"scores": SCORES}, format="json")
    stranger = api_client_for(org.users["lee"]).post(url, {"scores": SCORES}, format="json")

    assert out_of_range.status_code == 400 and "scores" in out_of_range.json()
    assert missing.status_code == 400 and "ops" in missing.json()
    assert first.status_code == 201
    assert again.status_code == 409
    assert stranger.status_code == 403


def test_out_of_order_and_access(org, ana, api_client_for, proposed):
    url = f"/api/v1/pocs/{proposed.slug}/"
    kim, sam = api_client_for(org.users["kim"]), api_client_for(org.users["sam"])

    assert api_client_for(org.users["mo"]).post(url + "review/").status_code == 409
    assert (
        api_client_for(org.users["lee"])
        .post(url + "decide/", {"outcome": "adopt", "rationale": "x"}, format="json")
        .status_code
        == 409
    )
    assert kim.get(url).status_code == 404
    assert kim.get("/api/v1/pocs/").json()["count"] == 0
    assert sam.get(url).status_code == 200
    assert sam.post(url + "withdraw/", {"comment": "no"}, format="json").status_code == 403
    assert (
        api_client_for(org.users["lee"])
        .post(url + "decide/", {"outcome": "maybe", "rationale": "x"}, format="json")
        .status_code
        == 400
    )
    assert api_client_for(org.users["mo"]).get("/api/v1/pocs/?status=bogus").status_code == 400


def test_evidence_files_download_for_those_who_see_the_team(
    org, ana, api_client_for, client_for, proposed
):
    mo = api_client_for(org.users["mo"])
    upload = SimpleUploadedFile("bench.csv", b"run,minutes\n1,3\n", content_type="text/csv")

    added = mo.post(
        f"/api/v1/pocs/{proposed.slug}/evidence/",
        {"title": "Bench", "file": upload},
        format="multipart",
    )
    nothing = mo.post(
        f"/api/v1/pocs/{proposed.slug}/evidence/", {"title": "Nothing"}, format="json"
    )

    assert added.status_code == 201, added.content
    file = added.json()["evidence"][0]["file"]
    assert file["name"] == "bench.csv"
    path = file["url"].removeprefix("http://testserver")
    assert client_for("sam").get(path).content == b"run,minutes\n1,3\n"
    assert client_for("kim").get(path).status_code == 404
    assert nothing.status_code == 400


def test_leads_edit_the_radar_and_others_read_it(org, api_client_for):
    lee, mo = api_client_for(org.users["lee"]), api_client_for(org.users["mo"])
    entry = {
        "name": "Trivy",
        "quadrant": "tools",
        "ring": "adopt",
        "reason": "Scans everywhere",
        "adoption_pattern": "*trivy*",
    }

    assert mo.post("/api/v1/radar/", entry, format="json").status_code == 403
    assert lee.post("/api/v1/radar/", entry | {"reason": ""}, format="json").status_code == 400
    assert (
        lee.post(
            "/api/v1/radar/", entry | {"adoption_pattern": "';drop"}, format="json"
        ).status_code
        == 400
    )
    assert lee.post("/api/v1/radar/", entry, format="json").status_code == 201
    assert lee.post("/api/v1/radar/", entry, format="json").status_code == 409
    moved = lee.post(
        "/api/v1/radar/trivy/move/", {"ring": "hold", "reason": "Licence change"}, format="json"
    )
    same = lee.post("/api/v1/radar/trivy/move/", {"ring": "hold", "reason": "again"}, format="json")
    assert [h["to_ring"] for h in moved.json()["history"]] == ["adopt", "hold"]
    assert same.status_code == 409
    assert mo.get("/api/v1/radar/?ring=hold").json()["count"] == 1
    assert mo.get("/api/v1/radar/?quadrant=tools&ring=adopt").json()["count"] == 0
    assert (
        lee.patch(
            "/api/v1/radar/trivy/", {"description": "Container scanner"}, format="json"
        ).json()["description"]
        == "Container scanner"
    )
    assert mo.get("/api/v1/radar-quadrants/").json()["count"] == 4


def test_the_byor_csv_has_its_columns_and_values(org, api_client_for):
    lee = org.users["lee"]
    tools, techniques = Quadrant.objects.get(slug="tools"), Quadrant.objects.get(slug="techniques")
    radar_services.entry_create(
        actor=lee,
        name="Trivy",
        quadrant=tools,
        ring="adopt",
        reason="x",
        description="Scans images,\nfast",
    )
    old = radar_services.entry_create(
        actor=lee, name="Trunk-based development", quadrant=techniques, ring="trial", reason="x"
    )
    old.created_at = old.created_at.replace(year=2025)
    old.save()
    radar_services.entry_create(actor=lee, name="=cmd", quadrant=tools, ring="hold", reason="x")

    response = api_client_for(org.users["val"]).get("/api/v1/radar/export/?format=byor-csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0].keys()) == ["name", "ring", "quadrant", "isNew", "description"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["Trivy"] == {
        "name": "Trivy",
        "ring": "adopt",
        "quadrant": "tools",
        "isNew": "TRUE",
        "description": "Scans images, fast",
    }
    assert by_name["Trunk-based development"]["isNew"] == "FALSE"
    assert by_name["Trunk-based development"]["quadrant"] == "techniques"
    assert "'=cmd" in by_name  # a spreadsheet must not run it as a formula
    since = api_client_for(org.users["val"]).get(
        "/api/v1/radar/export/?format=byor-csv&since=2030-01-01"
    )
    assert "TRUE" not in since.content.decode()


def test_the_json_export_has_every_entry_with_history(org, api_client_for):
    tools = Quadrant.objects.get(slug="tools")
    entry = radar_services.entry_create(
        actor=org.users["lee"], name="Trivy", quadrant=tools, ring="assess", reason="Try it"
    )
    radar_services.entry_move(actor=org.users["lee"], entry=entry, ring="adopt", reason="Proven")
    client = api_client_for(org.users["val"])

    body = client.get("/api/v1/radar/export/?format=json").json()
    default = client.get("/api/v1/radar/export/").json()
    bad = client.get("/api/v1/radar/export/?format=xml")

    (exported,) = body["entries"]
    assert (exported["name"], exported["ring"], exported["quadrant"], exported["is_new"]) == (
        "Trivy",
        "adopt",
        "tools",
        True,
    )
    assert [(h["from_ring"], h["to_ring"]) for h in exported["history"]] == [
        (None, "assess"),
        ("assess", "adopt"),
    ]
    assert default == body | {"generated_at": default["generated_at"]}
    assert bad.status_code == 400 and "format" in bad.json()


@pytest.mark.parametrize("name", ["!!!", "Export"])
def test_entries_need_a_name_that_makes_an_address(org, api_client_for, name):
    body = {"name": name, "quadrant": "tools", "ring": "adopt", "reason": "x"}

    response = api_client_for(org.users["lee"]).post("/api/v1/radar/", body, format="json")

    assert (response.status_code, "name" in response.json()) == (400, True)
