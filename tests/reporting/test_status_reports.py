"""Stakeholder status reports: the content of a period from hand-made delivery data and a
roadmap, saving it as sent, its PDF, the pages, the API and who may see what."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from pipelines.models import Deployment, Incident, PipelineRun
from pipelines.services import push_source
from portal.models import Environment, Team
from reporting.models import StatusReport
from reporting.status.content import build_report
from reporting.status.pdf import render_pdf
from reporting.status.periods import last_full_week, period_label, period_slug
from reporting.status.services import status_report_create, utc_today
from roadmap import deliverables as deliverable_services
from roadmap import services as roadmap_services
from roadmap import versions
from roadmap.selectors import draft_of
from tests.factories import ServiceFactory

TODAY = utc_today()
START, END = last_full_week(TODAY)


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def _deploy(service, day: date, hour: int, *, failed: bool = False) -> None:
    production, _ = Environment.objects.get_or_create(
        slug="production", defaults={"name": "production", "is_production": True}
    )
    source = push_source()
    deployment = Deployment.objects.create(
        source=source,
        service=service,
        environment=production,
        external_id=f"D-{service.slug}-{day}-{hour}",
        status="success",
        finished_at=at(day, hour),
    )
    if failed:
        Incident.objects.create(
            source=source,
            service=service,
            external_id=f"I-{service.slug}-{day}-{hour}",
            title="checkout errors",
            opened_at=at(day, hour) + timedelta(minutes=10),
            resolved_at=at(day, hour) + timedelta(hours=2),
            deployment=deployment,
        )


def _run(service, day: date, hour: int, status: str) -> None:
    PipelineRun.objects.create(
        source=push_source(),
        service=service,
        external_id=f"R-{service.slug}-{day}-{hour}",
        name="ci",
        branch="main",
        status=status,
        created_at=at(day, hour),
        started_at=at(day, hour),
        finished_at=at(day, hour) + timedelta(minutes=10),
    )


@pytest.fixture
def delivery(service):
    """Last week: Cart API deployed 4 times, once causing an incident (CFR 25 %); two main
    runs, one failed (success rate 50 %)."""
    for hour, failed in [(9, True), (11, False), (13, False), (15, False)]:
        _deploy(service, END - timedelta(days=1), hour, failed=failed)
    _run(service, END - timedelta(days=2), 9, "success")
    _run(service, END - timedelta(days=2), 12, "failure")


@pytest.fixture
def plan(org, initiative, service):
    """Three deliverables in flight last week, one per colour:

    - red: Cart API pipeline, due 5 days before the period's end with nothing done, and its
      change failure target (at most 10 %) missed by the 25 % of ``delivery``;
    - amber: Mobile release train, not started with 20 of its 60 days gone (33 %);
    - green: Runbooks, half done with a quarter of its time gone.

    One more, due long before the period and accepted, is not in flight.
    """
    lee = org.users["lee"]

    def create(title, team, starts, due, **extra):
        return roadmap_services.deliverable_create(
            actor=lee, initiative=initiative, title=title, team=team, starts_on=starts,
            due_on=due, **extra,
        )  # fmt: skip

    red = create(
        "Cart API on the standard pipeline", org.checkout, END - timedelta(days=60),
        END - timedelta(days=5), budget=Decimal("10000"), services=[service],
        targets=[{"name": "Change failure rate", "metric": "change_failure_rate",
                  "comparison": "lte", "threshold": 10, "window_days": 30}],
    )  # fmt: skip
    amber = create(
        "Mobile release train", org.mobile, END - timedelta(days=20), END + timedelta(days=40)
    )
    green = create("Runbooks", org.checkout, END - timedelta(days=10), END + timedelta(days=30))
    deliverable_services.progress_update(actor=lee, deliverable=green, progress=50)
    old = create(
        "Old migration", org.checkout, END - timedelta(days=200), END - timedelta(days=100)
    )
    old.status = "accepted"
    old.save(update_fields=["status"])
    return {"red": red, "amber": amber, "green": green}


@pytest.fixture
def submitted(org, sue, roadmap, plan):
    """Version 1 submitted by Lee; Sam approved, Sue has not decided."""
    version = versions.version_submit(actor=org.users["lee"], version=draft_of(roadmap))
    versions.version_decide(actor=org.users["sam"], version=version, kind="approve")
    return version


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- content ---------------------------------------------------------------------------------


def test_it_counts_deliverables_by_rag_with_their_reasons(org, delivery, plan):
    content = build_report(period_start=START, period_end=END)

    deliverables = content["deliverables"]
    assert deliverables["counts"] == {"red": 1, "amber": 1, "green": 1}
    assert [(i["title"], i["rag"]) for i in deliverables["items"]] == [
        ("Cart API on the standard pipeline", "red"),
        ("Mobile release train", "amber"),
        ("Runbooks", "green"),
    ]
    red = deliverables["items"][0]
    assert red["reasons"] == [
        "time: 5 days past due with 0% done",
        "quality: Change failure rate missed: 25 over 30 days (wanted at most 10)",
    ]
    assert deliverables["items"][1]["reasons"] == ["time: not started with 33% of the time gone"]
    assert content["risks"][0] == {
        "kind": "deliverable",
        "title": "Cart API on the standard pipeline",
        "slug": red["slug"],
        "detail": "; ".join(red["reasons"]),
    }


def test_it_reports_dora_per_team_and_pipeline_health(org, delivery):
    content = build_report(period_start=START, period_end=END)

    dora = content["dora"]
    assert dora["deployment_frequency"]["count"] == 4
    assert dora["change_failure_rate"]["rate"] == pytest.approx(0.25)
    assert dora["change_failure_rate"]["tier"] == "low"  # 25 % is past 2024's 20 % cluster
    assert dora["failed_deployment_recovery_time"]["median_seconds"] == pytest.approx(2 * 3600)
    assert len(dora["trend"]) >= 8 and dora["trend_bucket"] == "week"
    assert dora["trend"][-1]["deployment_frequency"]["count"] == 4
    assert [(t["name"], t["deployment_frequency"]["count"]) for t in dora["teams"]] == [
        ("Checkout", 4),
        ("Mobile", 0),
    ]
    health = content["pipeline_health"]
    assert (health["runs_finished"], health["success_rate"]) == (2, 0.5)
    assert content["period"] == {
        "start": START.isoformat(),
        "end": END.isoformat(),
        "days": 7,
        "slug": period_slug(START, END),
        "label": period_label(START, END),
    }


def test_pending_approvals_say_who_has_not_decided(org, submitted):
    (pending,) = build_report(period_start=START, period_end=END)["pending_approvals"]

    assert pending == {
        "roadmap": "DevOps 2027",
        "roadmap_slug": submitted.roadmap.slug,
        "number": 1,
        "note": "",
        "submitted_by": org.users["lee"].get_full_name(),
        "submitted_at": pending["submitted_at"],
        "approvals": 1,
        "needed": 2,
        "undecided": ["Sue Park"],
        "undecided_usernames": ["sue"],
    }


def test_roadmap_progress_and_the_changes_approved_in_the_period(org, sue, submitted):
    versions.version_decide(actor=sue, version=submitted, kind="approve")
    this_week = build_report(period_start=TODAY - timedelta(days=6), period_end=TODAY)
    last_week = build_report(period_start=START, period_end=END)

    (roadmap,) = this_week["roadmaps"]
    assert roadmap["approved"]["number"] == 1
    assert roadmap["initiatives"][0]["title"] == "Standard pipeline everywhere"
    assert (roadmap["initiatives"][0]["accepted"], roadmap["initiatives"][0]["total"]) == (1, 4)
    (change,) = roadmap["changes"]
    assert change["number"] == 1 and change["previous"] is None
    assert "Deliverable “Runbooks”: added" in " ".join(change["texts"])
    assert last_week["roadmaps"][0]["approved"] is None  # approved after that period
    assert last_week["roadmaps"][0]["changes"] == []
    assert this_week["pending_approvals"] == []


def test_a_member_sees_only_their_teams(org, delivery, plan, submitted):
    content = build_report(period_start=START, period_end=END, viewer=org.users["kim"])

    assert content["scope"] == {"kind": "teams", "teams": ["Mobile"]}
    assert [i["title"] for i in content["deliverables"]["items"]] == ["Mobile release train"]
    assert content["dora"]["deployment_frequency"]["count"] == 0
    assert [t["name"] for t in content["dora"]["teams"]] == ["Mobile"]
    assert content["roadmaps"] == [] and content["pending_approvals"] == []


# --- saving, reopening, the PDF --------------------------------------------------------------


def test_a_saved_report_reopens_as_it_was_sent(org, client_for, delivery, plan):
    report = status_report_create(actor=org.users["sam"], period_start=START, period_end=END)
    sent = report.html
    assert "Cart API on the standard pipeline" in sent and "Checkout" in sent

    Team.objects.filter(pk=org.checkout.pk).update(name="Payments")
    _deploy(ServiceFactory(team=org.checkout, slug="pricing"), END, 10)

    report.refresh_from_db()
    assert report.html == sent
    page = client_for("sam").get(f"/reports/{report.slug}/").content.decode()
    assert "Checkout" in page and "Payments" not in page
    live = client_for("sam").get("/reports/").content.decode()
    assert "Payments" in live


def test_a_second_report_of_a_period_gets_a_suffix(org):
    first = status_report_create(actor=org.users["lee"], period_start=START, period_end=END)
    second = status_report_create(actor=org.users["lee"], period_start=START, period_end=END)

    assert first.slug == period_slug(START, END)
    assert second.slug == f"{first.slug}-2"
    assert second.created_by == org.users["lee"] and not second.scheduled


def test_the_pdf_holds_the_figures(org, api_client_for, client_for, delivery, plan):
    report = status_report_create(actor=org.users["sam"], period_start=START, period_end=END)

    response = api_client_for(org.users["sam"]).get(
        f"/api/v1/status-reports/{report.slug}/pdf/", HTTP_ACCEPT="application/pdf"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="flightdeck-status-{report.slug}.pdf"'
    )
    text = _pdf_text(response.content)
    assert "Production deployments" in text
    assert "4 production deployments" in text
    assert "Cart API on the standard pipeline" in text
    assert "5 days past due" in text
    assert period_label(START, END) in text
    page = client_for("sam").get(f"/reports/{report.slug}/pdf/")
    assert page.status_code == 200 and page.content.startswith(b"%PDF")


def test_the_pdf_never_fetches_a_url(org, httpserver):
    httpserver.expect_request("/logo.png").respond_with_data(b"", content_type="image/png")
    report = status_report_create(actor=org.users["lee"], period_start=START, period_end=END)
    report.html += (
        f'<img src="{httpserver.url_for("/logo.png")}">'
        f'<link rel="stylesheet" href="{httpserver.url_for("/style.css")}">'
        '<img src="file:///etc/hostname"><img src="/static/css/flightdeck.css">'
    )

    assert render_pdf(report).startswith(b"%PDF")
    assert httpserver.log == []


# --- pages and API -----------------------------------------------------------------------------


def test_the_status_page_shows_what_awaits_the_readers_decision(org, sue, client_for, submitted):
    page = client_for("sue").get("/reports/").content.decode()
    assert "Awaiting your decision" in page
    assert "DevOps 2027 version 1" in page
    assert "Save this report" in page

    page = client_for("sam").get("/reports/").content.decode()  # Sam has approved
    assert "Nothing awaits your decision." in page


def test_saving_from_the_page_opens_the_saved_report(org, client_for):
    response = client_for("lee").post(
        "/reports/", {"period_start": START.isoformat(), "period_end": END.isoformat()}
    )
    report = StatusReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/{report.slug}/"
    assert report.created_by == org.users["lee"]

    refused = client_for("lee").post(
        "/reports/", {"period_start": END.isoformat(), "period_end": START.isoformat()}
    )
    assert refused.status_code == 200
    assert "Must not be before the start." in refused.content.decode()


def test_members_see_their_teams_and_no_saved_reports(org, client_for, api_client_for, plan):
    report = status_report_create(actor=org.users["sam"], period_start=START, period_end=END)
    val = client_for("val")  # a viewer of Checkout

    page = val.get("/reports/").content.decode()
    assert "Your teams: Checkout" in page
    assert "Runbooks" in page and "Mobile release train" not in page
    assert "Save this report" not in page and report.slug not in page
    assert val.post("/reports/", {"period_start": START, "period_end": END}).status_code == 403
    assert val.get(f"/reports/{report.slug}/").status_code == 404
    assert val.get(f"/reports/{report.slug}/pdf/").status_code == 404
    assert val.get("/reports/digest/").status_code == 403

    api = api_client_for(org.users["mo"])
    assert api.get("/api/v1/status-reports/").json()["results"] == []
    assert api.get(f"/api/v1/status-reports/{report.slug}/").status_code == 404
    created = api.post("/api/v1/status-reports/", {"period_start": "x", "period_end": "y"})
    assert created.status_code == 403  # the role is refused before the input is read
    assert api_client_for(None).get("/api/v1/status-reports/").status_code == 401


def test_the_api_lists_retrieves_and_creates(org, api_client_for, delivery):
    api = api_client_for(org.users["sam"])

    created = api.post(
        "/api/v1/status-reports/",
        {"period_start": START.isoformat(), "period_end": END.isoformat()},
    )
    older = api.post(
        "/api/v1/status-reports/", {"period_start": "2026-01-05", "period_end": "2026-01-11"}
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["slug"] == period_slug(START, END) and body["created_by"] == "sam"
    assert body["content"]["dora"]["deployment_frequency"]["count"] == 4
    assert older.json()["slug"] == "2026-w02"
    listed = api.get("/api/v1/status-reports/").json()["results"]
    assert [r["slug"] for r in listed] == [body["slug"], "2026-w02"]
    assert "content" not in listed[0] and listed[0]["label"] == period_label(START, END)
    since = api.get("/api/v1/status-reports/", {"since": START.isoformat()}).json()["results"]
    assert [r["slug"] for r in since] == [body["slug"]]
    until = api.get("/api/v1/status-reports/", {"until": "2026-01-31"}).json()["results"]
    assert [r["slug"] for r in until] == ["2026-w02"]
    detail = api.get(f"/api/v1/status-reports/{body['slug']}/").json()
    assert detail["content"] == body["content"]
