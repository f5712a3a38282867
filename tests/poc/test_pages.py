"""The POC and radar pages: propose, move along, score, add evidence, decide, see the radar."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from poc.models import Evidence, Poc, RadarEntry
from tests.poc.conftest import run_to_review

PROPOSE = {
    "title": "Dagster for the nightly jobs",
    "tool": "Dagster",
    "quadrant": "tools",
    "team": "checkout",
    "problem": "Cron jobs fail silently.",
    "starts_on": "2026-11-01",
    "ends_on": "2026-12-15",
    "budget": "500",
    "evaluators": ["mo", "ana"],
}


def _prefixed(data: dict) -> dict:
    return {f"new-{name}": value for name, value in data.items()}


def test_a_member_proposes_and_the_list_shows_it(client_for, ana):
    mo = client_for("mo")

    created = mo.post("/pocs/", _prefixed(PROPOSE), follow=True)
    bad = mo.post("/pocs/", _prefixed(PROPOSE | {"ends_on": "2026-10-01"}))

    assert created.redirect_chain[-1][0] == "/pocs/dagster-for-the-nightly-jobs/"
    assert "Proposed: a lead approves it to run." in created.content.decode()
    assert "Not before the start." in bad.content.decode()
    assert Poc.objects.count() == 1
    listing = mo.get("/pocs/").content.decode()
    assert "Dagster for the nightly jobs" in listing
    assert "Dagster for the nightly jobs" not in mo.get("/pocs/?status=decided").content.decode()
    assert "Propose a POC" not in client_for("sam").get("/pocs/").content.decode()


def test_the_lifecycle_buttons_scores_evidence_and_decision(client_for, org, ana, proposed):
    url = f"/pocs/{proposed.slug}/"
    lee, mo = client_for("lee"), client_for("mo")
    assert "Approve to run" in lee.get(url).content.decode()
    assert "Approve to run" not in mo.get(url).content.decode()

    lee.post(url + "approve/", {"comment": "Go ahead"})
    mo.post(url + "start/")
    scores = {
        "form": "evaluation",
        "score-fit": "4",
        "score-cost": "2",
        "score-ops": "5",
        "note-ops": "easy",
    }
    mo.post(url, scores)
    refused = client_for("ana").post(url, scores | {"score-fit": "9"})
    upload = SimpleUploadedFile("bench.txt", b"3 min", content_type="text/plain")
    mo.post(url, {"form": "evidence", "title": "Bench", "file": upload})
    mo.post(url + "review/")
    decided = lee.post(
        url,
        {
            "form": "decide",
            "outcome": "trial",
            "rationale": "Reruns work.",
            "roadmap": "Move nightly jobs",
        },
        follow=True,
    )

    assert "Select a valid choice" in refused.content.decode()
    page = decided.content.decode()
    assert "Trial" in page and "Reruns work." in page and "Roadmap item: Move nightly jobs" in page
    assert "4.00" in page  # mo's weighted score: (3x4 + 1x2 + 2x5) / 6 = 24/6
    evidence = Evidence.objects.get()
    assert client_for("sam").get(f"{url}evidence/{evidence.pk}/").content == b"3 min"
    assert RadarEntry.objects.get().ring == "trial"
    timeline = page[page.index("Timeline") :]
    assert "approve — “Go ahead”" in timeline


def test_out_of_order_buttons_say_why(client_for, proposed):
    response = client_for("mo").post(f"/pocs/{proposed.slug}/review/", follow=True)

    assert "cannot be sent for review" in response.content.decode()
    assert Poc.objects.get().status == "proposed"


def test_other_teams_do_not_see_a_poc(client_for, proposed):
    kim = client_for("kim")

    assert kim.get(f"/pocs/{proposed.slug}/").status_code == 404
    assert kim.post(f"/pocs/{proposed.slug}/withdraw/", {"comment": "x"}).status_code == 404
    assert "Dagster" not in kim.get("/pocs/").content.decode()


def test_the_radar_draws_entries_and_leads_add_and_move_them(client_for, org, ana, proposed):
    poc = run_to_review(org, proposed)
    lee = client_for("lee")
    lee.post(f"/pocs/{poc.slug}/", {"form": "decide", "outcome": "assess", "rationale": "Early."})

    page = lee.get("/radar/").content.decode()
    assert "data-plotly=" in page and '"text":["Dagster"]' in page
    added = lee.post(
        "/radar/",
        {
            "name": "Trivy",
            "quadrant": "tools",
            "ring": "adopt",
            "reason": "Everywhere",
            "adoption_pattern": "*trivy*",
        },
        follow=True,
    )
    assert "Trivy is on the radar in adopt." in added.content.decode()
    moved = lee.post(
        "/radar/dagster/", {"ring": "trial", "reason": "Second POC went well"}, follow=True
    )
    assert "Second POC went well" in moved.content.decode()
    assert client_for("mo").post("/radar/", {"name": "X"}).status_code == 403
    filtered = client_for("mo").get("/radar/?ring=adopt").content.decode()
    assert '"text":["Trivy"]' in filtered and '"text":["Dagster"]' not in filtered
    assert client_for("mo").get("/radar/?ring=bogus").status_code == 200  # shows the error


def test_the_comparison_lines_up_competing_pocs(client_for, proposed):
    page = client_for("lee").get("/pocs/compare/orchestration/").content.decode()

    assert "Competing POCs: orchestration" in page and "Dagster" in page
