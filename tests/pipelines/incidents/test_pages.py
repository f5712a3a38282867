"""The incident pages: the list (with "open an incident"), an incident's page with its timeline
and workflow forms, its review with actions and conversions, the reviews with overdue actions
flagged, the reports, the policy (leads); empty states; the home page's open incidents; what
readers get (no forms, 403 on a post)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from pipelines.incidents import services
from pipelines.models import Incident, PostIncidentReview
from tests.pipelines.incidents.conftest import at

LIST = "/incidents/"


@pytest.mark.parametrize(
    "path", [LIST, LIST + "1/", LIST + "1/review/", LIST + "reviews/", LIST + "reports/"]
)
def test_pages_need_a_sign_in(db, path):
    response = Client().get(path)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        (LIST, b"No incidents yet"),
        (LIST + "reviews/", b"No reviews yet"),
        (LIST + "reports/", b"No incidents in this range yet"),
    ],
)
def test_empty_pages_say_what_comes_there(client_for, service, path, words):
    response = client_for("mo").get(path)

    assert response.status_code == 200
    assert words in response.content


@pytest.mark.parametrize("who", ["mo", "val", "sam"])
def test_everyone_has_the_incidents_navigation_entry(client_for, who):
    assert b'href="/incidents/"' in client_for(who).get("/").content


def test_a_member_opens_an_incident_and_works_it_from_its_page(client_for, service):
    mo = client_for("mo")
    opened = mo.post(
        LIST, {"form": "open", "service": "cart-api", "title": "Checkout is slow", "severity": ""}
    )
    incident = Incident.objects.get()
    page = LIST + f"{incident.pk}/"
    assert opened.status_code == 302 and opened["Location"] == page

    mo.post(page, {"form": "triage", "severity": "sev2", "commander": "mo"})
    mo.post(page, {"form": "note", "text": "Search index rebuilding."})
    mo.post(page, {"form": "acknowledge", "note": ""})
    resolved = mo.post(page, {"form": "resolve", "note": "Index rebuilt."})

    incident.refresh_from_db()
    assert (incident.status, incident.severity, resolved.status_code) == ("resolved", "sev2", 302)
    content = mo.get(page).content.decode()
    for words in ("Search index rebuilding.", "Index rebuilt.", "Reopen", "Post-incident review"):
        assert words in content
    assert PostIncidentReview.objects.filter(incident=incident).exists()  # SEV2: by policy


def test_a_step_out_of_order_is_a_message_not_an_error(client_for, incident):
    mo = client_for("mo")
    mo.post(LIST + f"{incident.pk}/", {"form": "acknowledge"})

    again = mo.post(LIST + f"{incident.pk}/", {"form": "acknowledge"}, follow=True)

    assert again.status_code == 200
    assert b"The incident is acknowledged" in again.content


def test_a_bad_triage_shows_its_errors(client_for, incident):
    response = client_for("mo").post(
        LIST + f"{incident.pk}/", {"form": "triage", "severity": "sev9"}
    )

    assert response.status_code == 200
    assert b"Select a valid choice" in response.content


def test_readers_get_no_forms_and_a_post_is_refused(client_for, incident):
    val = client_for("val")

    content = val.get(LIST + f"{incident.pk}/").content
    refused = val.post(LIST + f"{incident.pk}/", {"form": "acknowledge"})

    assert (
        b'value="acknowledge"' not in content and b"Open an incident" not in val.get(LIST).content
    )
    assert refused.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_another_teams_incident_is_a_404(client_for, incident):
    assert client_for("kim").get(LIST + f"{incident.pk}/").status_code == 404


@pytest.fixture
def reviewed(org, open_incident):
    incident = open_incident("Payments down", severity="sev1")
    services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(30))
    review = PostIncidentReview.objects.get(incident=incident)
    services.action_add(
        actor=org.users["mo"], review=review, title="Load-test the gateway",
        due_on=timezone.localdate() - timedelta(days=3), owner=org.users["mo"],
    )  # fmt: skip
    return review


def test_the_review_page_has_its_sections_and_actions(client_for, reviewed, capability):
    mo = client_for("mo")
    page = LIST + f"{reviewed.incident_id}/review/"

    saved = mo.post(
        page,
        {"form": "edit", "impact": "No card payments for 30 min", "timeline_summary": "",
         "causes": "#config-drift", "went_well": "Fast rollback", "went_badly": "Late alert",
         "due_on": str(reviewed.due_on)},
    )  # fmt: skip
    action = reviewed.actions.get()
    mo.post(page, {"form": "to_improvement", "action": action.pk,
                   "capability_key": "incident-response"})  # fmt: skip
    content = mo.get(page).content.decode()

    assert saved.status_code == 302
    for words in ("Impact", "No card payments for 30 min", "What went well", "What went badly",
                  "Load-test the gateway", "overdue", "maturity: Load-test the gateway",
                  "Publish"):  # fmt: skip
        assert words in content
    assert "make it a roadmap initiative" not in content  # leads only
    assert "make it a roadmap initiative" in client_for("lee").get(page).content.decode()


def test_the_reviews_list_flags_overdue_actions(client_for, reviewed):
    content = client_for("sam").get(LIST + "reviews/").content.decode()

    assert "Overdue actions" in content and "Load-test the gateway" in content
    assert "1 overdue" in content


def test_the_reports_page_shows_the_numbers(client_for, reviewed):
    content = client_for("lee").get(LIST + "reports/?days=365").content.decode()

    for words in ("By severity", "By team", "Incidents per production deployment", "SEV1"):
        assert words in content


def test_the_review_policy_is_for_leads(client_for):
    lee = client_for("lee")

    saved = lee.post(LIST + "review-policy/", {"required_severities": ["sev1"], "due_days": 3})

    assert saved.status_code == 302
    assert client_for("mo").get(LIST + "review-policy/").status_code == 403
    form = lee.get(LIST + "review-policy/").context["form"]
    assert (form["required_severities"].value(), form["due_days"].value()) == (["sev1"], 3)


def test_the_home_page_shows_the_teams_open_incidents(client_for, open_incident, bff):
    open_incident("Cart is down", severity="sev1")
    open_incident("App login fails", by="kim", on=bff)

    mine = client_for("mo").get("/").content.decode()
    theirs = client_for("kim").get("/").content.decode()

    assert "Open incidents" in mine and "Cart is down" in mine and "App login fails" not in mine
    assert "App login fails" in theirs and "Cart is down" not in theirs


def test_the_home_page_has_no_card_without_open_incidents(client_for, service):
    assert "Open incidents" not in client_for("mo").get("/").content.decode()


def test_the_home_card_counts_all_and_shows_the_first(client_for, open_incident):
    for n in range(10):
        open_incident(f"Incident {n}", severity="sev3" if n else "sev1")

    content = client_for("mo").get("/").content.decode()

    assert "all 10 →" in content and "Incident 0" in content
    assert content.index("Incident 0") < content.index("Incident 9")  # SEV1 first
    assert "Incident 1<" not in content  # the oldest SEV3 is past the first eight


@pytest.mark.parametrize("path", [LIST, LIST + "reviews/", "/api/v1/incidents/"])
def test_lists_use_a_fixed_number_of_queries(
    client_for, org, open_incident, deploy, django_assert_max_num_queries, path
):
    deploy("d1", minutes=-30)
    for n in range(12):
        incident = open_incident(f"Incident {n}", severity="sev1", commander=org.users["mo"])
        services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(10))
        review = PostIncidentReview.objects.get(incident=incident)
        services.action_add(actor=org.users["mo"], review=review, title="Fix", due_on=at(0).date())
    client = client_for("sam")

    with django_assert_max_num_queries(10):
        assert client.get(path).status_code == 200
