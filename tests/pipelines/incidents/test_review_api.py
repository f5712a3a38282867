"""The reviews API: reviews started, written, published; actions added, done, reopened and
turned into roadmap, maturity and training objects; the review policy; bad input as 400 with
field errors, steps out of order 409, roles 403, and refusals changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from pipelines.incidents import services
from pipelines.models import PostIncidentReview, ReviewAction, ReviewPolicy
from tests.pipelines.incidents.conftest import at
from tests.pipelines.incidents.test_api import refused

REVIEWS = "/api/v1/post-incident-reviews/"
ACTIONS = "/api/v1/review-actions/"
POLICY = "/api/v1/review-policy/"


@pytest.fixture
def mo(org, api_client_for):
    return api_client_for(org.users["mo"])


@pytest.fixture
def lee(org, api_client_for):
    return api_client_for(org.users["lee"])


@pytest.fixture
def review(org, open_incident):
    incident = open_incident(severity="sev2")
    services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(50))
    return PostIncidentReview.objects.get(incident=incident)


def test_a_review_is_written_published_and_listed(mo, review):
    path = f"{REVIEWS}{review.pk}/"
    refused(mo.post(path + "publish/", format="json"), 400, "impact", "causes")

    written = mo.patch(
        path, {"impact": "Payments failed", "causes": "#config-drift"}, format="json"
    )
    published = mo.post(path + "publish/", format="json")

    assert (written.status_code, published.status_code) == (200, 200)
    assert (published.json()["status"], published.json()["author"]) == ("published", "mo")
    refused(mo.patch(path, {"impact": "later"}, format="json"), 409, "status")
    listed = mo.get(REVIEWS + "?status=published").json()["results"]
    assert [(r["id"], r["severity"], r["service"]) for r in listed] == [
        (review.pk, "sev2", "cart-api")
    ]


def test_a_review_is_started_once_for_a_visible_incident(mo, api_client_for, org, incident):
    started = mo.post(REVIEWS, {"incident": incident.pk}, format="json")

    assert refused(started, 201)["incident"] == incident.pk
    refused(mo.post(REVIEWS, {"incident": incident.pk}, format="json"), 409)
    kim = api_client_for(org.users["kim"])
    refused(kim.post(REVIEWS, {"incident": incident.pk}, format="json"), 400, "incident")
    assert kim.get(f"{REVIEWS}{started.json()['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [({"impact": 5}, "impact"), ({"due_on": "soon"}, "due_on"), ({"status": "published"},
     "status"), ({"author": "lee"}, "author")],
)  # fmt: skip
def test_a_bad_review_edit_is_a_400(mo, review, body, field):
    refused(mo.patch(f"{REVIEWS}{review.pk}/", body, format="json"), 400, field)

    review.refresh_from_db()
    assert (review.impact, review.status) == ("", "draft")


def test_actions_are_added_done_reopened_and_flagged_overdue(mo, review):
    yesterday = timezone.localdate() - timedelta(days=1)
    added = mo.post(
        f"{REVIEWS}{review.pk}/actions/",
        {"title": "Runbook", "due_on": str(yesterday), "owner": "mo"},
        format="json",
    )

    action = refused(added, 201)["actions"][0]
    assert (action["team"], action["owner"], action["is_overdue"]) == ("checkout", "mo", True)
    assert [a["id"] for a in mo.get(ACTIONS + "?overdue=true").json()["results"]] == [action["id"]]
    done = mo.post(f"{ACTIONS}{action['id']}/done/", format="json")
    assert (done.json()["status"], done.json()["is_overdue"]) == ("done", False)
    refused(mo.post(f"{ACTIONS}{action['id']}/done/", format="json"), 409, "status")
    assert mo.post(f"{ACTIONS}{action['id']}/reopen/", format="json").json()["status"] == "open"
    refused(
        mo.post(f"{REVIEWS}{review.pk}/actions/", {"title": "x", "due_on": 5}, format="json"),
        400,
        "due_on",
    )
    refused(
        mo.post(f"{REVIEWS}{review.pk}/actions/", {"due_on": "2026-05-01"}, format="json"),
        400,
        "title",
    )


@pytest.fixture
def action(org, review):
    return services.action_add(
        actor=org.users["mo"], review=review, title="Alert on latency",
        due_on=timezone.localdate() + timedelta(days=10), owner=org.users["mo"],
    )  # fmt: skip


def test_actions_become_roadmap_maturity_and_training_objects(
    lee, action, roadmap, theme, capability
):
    path = f"{ACTIONS}{action.pk}/"

    initiative = lee.post(
        path + "to-initiative/", {"roadmap": roadmap.slug, "theme": theme.slug}, format="json"
    )
    improvement = lee.post(
        path + "to-improvement-action/", {"capability_key": "incident-response"}, format="json"
    )
    training = lee.post(path + "to-training-item/", {"kind": "course"}, format="json")

    assert [r.status_code for r in (initiative, improvement, training)] == [201, 201, 201]
    action.refresh_from_db()
    assert training.json()["initiative"] == action.initiative.slug
    assert training.json()["improvement_action"] == action.improvement_action_id
    assert training.json()["training_item"] == action.training_item_id
    refused(lee.post(path + "to-training-item/", {}, format="json"), 409, "training_item")


@pytest.mark.parametrize(
    ("conversion", "body", "field"),
    [("to-initiative/", {"roadmap": "nope", "theme": "x"}, "roadmap"),
     ("to-initiative/", {"roadmap": "devops-2027", "theme": "nope"}, "theme"),
     ("to-improvement-action/", {"capability_key": "nope"}, "capability_key"),
     ("to-training-item/", {"kind": "party"}, "kind")],
)  # fmt: skip
def test_a_bad_conversion_is_a_400_and_links_nothing(lee, action, theme, conversion, body, field):
    refused(lee.post(f"{ACTIONS}{action.pk}/{conversion}", body, format="json"), 400, field)

    action.refresh_from_db()
    assert (action.initiative, action.improvement_action, action.training_item) == (None,) * 3


def test_a_member_may_not_put_an_action_on_the_roadmap(mo, action, roadmap, theme):
    body = {"roadmap": roadmap.slug, "theme": theme.slug}

    refused(mo.post(f"{ACTIONS}{action.pk}/to-initiative/", body, format="json"), 403)
    assert ReviewAction.objects.get().initiative is None


@pytest.mark.parametrize("user", ["val", "sam"])
def test_readers_read_reviews_and_write_nothing(org, api_client_for, action, user):
    client = api_client_for(org.users[user])

    assert client.get(REVIEWS).json()["count"] == 1
    assert client.get(ACTIONS).json()["count"] == 1
    refused(client.post(f"{ACTIONS}{action.pk}/done/", format="json"), 403)
    refused(client.patch(f"{REVIEWS}{action.review_id}/", {"impact": "x"}, format="json"), 403)
    assert ReviewAction.objects.get().status == "open"


def test_the_policy_is_read_by_all_and_set_by_leads(org, api_client_for, lee, mo):
    assert api_client_for(org.users["sam"]).get(POLICY).json()["required_severities"] == [
        "sev1", "sev2",
    ]  # fmt: skip
    refused(mo.put(POLICY, {"required_severities": [], "due_days": 3}, format="json"), 403)

    saved = lee.put(POLICY, {"required_severities": ["sev3"], "due_days": 7}, format="json")

    assert refused(saved, 200)["required_severities"] == ["sev3"]
    refused(
        lee.put(POLICY, {"required_severities": ["sev9"], "due_days": 7}, format="json"),
        400,
        "required_severities",
    )
    refused(
        lee.put(POLICY, {"required_severities": [], "due_days": "7"}, format="json"),
        400,
        "due_days",
    )
    refused(
        lee.put(POLICY, {"required_severities": [], "due_days": 0}, format="json"), 400, "due_days"
    )
    assert (ReviewPolicy.current().required_severities, ReviewPolicy.current().due_days) == (
        ["sev3"],
        7,
    )
