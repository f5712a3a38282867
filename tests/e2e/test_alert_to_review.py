"""Issue 9's "done when" as one journey, on the real clock: an alert fired in Alertmanager
becomes an incident on the right service within seconds, shows in the DORA numbers, is
resolved and reviewed in the portal, and its actions are tracked to done.

Alertmanager's notifications are real HTTP requests to the live server (payload version 4,
``Authorization: Bearer``). There is no Celery worker here: after each 202 the test runs the
worker's task itself on the pending deliveries, as the worker would once the request commits.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from pipelines.models import Incident, PostIncidentReview, RawEvent
from pipelines.services import deployment_push, source_create
from pipelines.tasks import rawevents_process_task
from portal.models import Environment, Role
from tests.factories import PASSWORD, MembershipFactory, ServiceFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.e2e

SECRET = "am-bearer-e2e-7f3a"
SLUG = "prod-alertmanager"
TITLE = "HighErrorRate: 5xx above 5% on cart-1"
FINGERPRINT = "c0ffee5eed5a1e01"
SHA = "9f1c2e7ab4" * 4
SECONDS_ALLOWED = 5.0


@dataclass
class World:
    lee: object  # the DevOps lead, organisation-wide
    mo: object  # a member of Checkout, on call
    cart: object  # Checkout's Cart API, the alert's service
    search: object  # Checkout's Search: a service the alert does not name


@pytest.fixture
def world(transactional_db) -> World:
    checkout = TeamFactory(name="Checkout", slug="checkout")
    lee = UserFactory(username="lee", first_name="Lee", last_name="Chen")
    mo = UserFactory(username="mo", first_name="Mo", last_name="Ali")
    MembershipFactory(user=lee, team=None, role=Role.LEAD)
    MembershipFactory(user=mo, team=checkout, role=Role.MEMBER)
    Environment.objects.create(
        name="production", slug="production", position=30, is_production=True
    )
    cart = ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    search = ServiceFactory(team=checkout, name="Search", slug="search")
    source_create(
        actor=lee, kind="alertmanager", name="Production Alertmanager", slug=SLUG,
        base_url="http://alertmanager.example.org:9093/", webhook_secret=SECRET,
    )  # fmt: skip
    # The release the alert will be blamed on: Cart API to production a quarter of an hour ago.
    now = timezone.now()
    deployment_push(
        actor=lee, service=cart, external_id="cart-api-release-412", environment="production",
        status="success", started_at=now - timedelta(minutes=20),
        finished_at=now - timedelta(minutes=15), sha=SHA,
    )  # fmt: skip
    return World(lee=lee, mo=mo, cart=cart, search=search)


# --- Alertmanager, over HTTP --------------------------------------------------------------------


def _rfc3339(moment: datetime) -> str:
    """As Alertmanager writes times: UTC with nanoseconds."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}000Z"


def notification(status: str, starts_at: datetime, ends_at: datetime | None = None) -> dict:
    """An Alertmanager webhook notification (version 4) carrying one alert."""
    labels = {
        "alertname": "HighErrorRate",
        "service": "cart-api",
        "severity": "critical",
        "instance": "cart-1:8080",
        "job": "cart",
    }
    annotations = {
        "summary": "5xx above 5% on cart-1",
        "description": "cart-1 answers 7.2% of requests with a 5xx since the last release.",
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _rfc3339(starts_at),
        "endsAt": _rfc3339(ends_at) if ends_at else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=job%3Acart%3Aerrors",
        "fingerprint": FINGERPRINT,
    }
    return {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "flightdeck",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example.org:9093",
        "alerts": [alert],
    }


def alertmanager_sends(base_url: str, body: dict, token: str = SECRET) -> tuple[int, dict]:
    """POST ``body`` to the source's webhook as Alertmanager's ``http_config`` does."""
    request = urllib.request.Request(
        f"{base_url}/webhooks/alertmanager/{SLUG}/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "User-Agent": "Alertmanager/0.27.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def worker_runs() -> None:
    """What the worker does with the task the delivery's commit queued."""
    pending = RawEvent.objects.filter(status=RawEvent.Status.PENDING)
    rawevents_process_task(list(pending.values_list("id", flat=True)))


# --- the journey --------------------------------------------------------------------------------


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def _dora_of_cart_api(page):
    """The member's way to the service's DORA keys: Metrics, their team, the service."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Metrics").click()
    page.get_by_role("link", name="Checkout").click()
    page.get_by_role("link", name="Cart API").click()
    expect(page.get_by_role("heading", name="Cart API")).to_be_visible()
    return (
        page.locator(".stat", has_text="Change failure rate"),
        page.locator(".stat", has_text="Recovery time"),
    )


def test_an_alert_becomes_an_incident_is_resolved_reviewed_and_its_actions_done(
    page, portal_url, sign_in, world
):
    # Before the alert: a quiet home page, and Cart API's release caused nothing (yet).
    sign_in("mo", PASSWORD)
    expect(page.get_by_role("heading", name="Mo Ali")).to_be_visible()
    expect(page.get_by_role("heading", name="Open incidents")).to_have_count(0)
    failure, recovery = _dora_of_cart_api(page)
    expect(failure).to_contain_text("0 of 1 caused an incident")
    expect(failure.locator(".value")).to_have_text("0.0 %")
    expect(recovery).to_contain_text("median of 0 resolved incidents")

    # A sender without the bearer token is turned away and leaves nothing behind.
    started = timezone.now() - timedelta(seconds=3)
    assert alertmanager_sends(portal_url, notification("firing", started), token="wrong")[0] == 401
    assert not RawEvent.objects.exists()

    # Alertmanager fires: accepted, normalised by the worker, an incident on Cart API.
    clock = time.monotonic()
    status, answer = alertmanager_sends(portal_url, notification("firing", started))
    assert (status, answer["status"]) == (202, "accepted")
    worker_runs()
    incident = Incident.objects.select_related("service").get(source__slug=SLUG)
    seconds = time.monotonic() - clock
    print(f"\nalert POSTed -> incident on {incident.service.slug}: {seconds:.3f} s")
    assert seconds < SECONDS_ALLOWED
    assert (incident.service, incident.severity, incident.status) == (
        world.cart,
        "sev1",
        "triggered",
    )
    # The same notification again (a retry, the HA peer, a repeat_interval): one incident.
    assert (
        alertmanager_sends(portal_url, notification("firing", started))[1]["status"] == "duplicate"
    )
    worker_runs()
    assert Incident.objects.count() == 1

    # The member's home page: their team's open incident.
    page.get_by_role("link", name="Flightdeck").click()
    card = page.locator("section.card", has=page.get_by_role("heading", name="Open incidents"))
    row = card.locator("tr", has=page.get_by_role("link", name=TITLE))
    expect(row).to_contain_text("Cart API")
    expect(row.locator(".badge", has_text="SEV1")).to_be_visible()
    expect(row.locator(".badge", has_text="triggered")).to_be_visible()

    # The service's incident list has it, blamed on the release by time; Search's has none.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    filters = page.locator("form.filters")
    filters.get_by_label("Service").select_option(label="Search")
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="No incidents match")).to_be_visible()
    filters.get_by_label("Service").select_option(label="Cart API")
    filters.get_by_role("button", name="Filter").click()
    rows = page.locator("table.data tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TITLE)
    expect(rows.first).to_contain_text("Production Alertmanager")
    expect(rows.first.get_by_role("link", name="Cart API")).to_be_visible()
    expect(rows.first.locator(".badge", has_text="SEV1")).to_be_visible()
    expect(rows.first).to_contain_text("cart-api-release-412")
    expect(rows.first).to_contain_text("by time")

    # The DORA numbers count it: the release now caused an incident (rollups refresh on read).
    failure, recovery = _dora_of_cart_api(page)
    expect(failure).to_contain_text("1 of 1 caused an incident")
    expect(failure.locator(".value")).to_have_text("100.0 %")
    expect(recovery).to_contain_text("median of 0 resolved incidents")
    api = page.request.get(portal_url + "/api/v1/metrics/dora/?service=cart-api")
    assert api.status == 200
    assert api.json()["change_failure_rate"] == {
        "rate": 1.0, "failed": 1, "total": 1, "tier": "low"
    }  # fmt: skip

    # The member takes it: acknowledged in the portal.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator(".page-head")).to_contain_text("Production Alertmanager")
    expect(page.get_by_role("link", name="open in the tool")).to_have_attribute(
        "href", re.compile(r"^http://prometheus\.example\.org:9090/graph")
    )
    facts = page.locator("dl.facts")
    caused_by = facts.locator("dt", has_text="Caused by").locator("+ dd")
    expect(caused_by).to_contain_text("Cart API to production")
    expect(caused_by).to_contain_text(SHA[:10])
    expect(caused_by).to_contain_text("the last production deployment before it opened")
    expect(
        page.get_by_text("The review policy asks for a post-incident review of SEV1 incidents")
    ).to_be_visible()
    page.get_by_label("A word for the timeline").fill("On it: rolling back release 412")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Acknowledged.", exact=True)).to_be_visible()
    expect(page.locator(".page-head .badge", has_text="acknowledged")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li", has_text="Opened")).to_contain_text("by Alertmanager")
    expect(timeline.locator("li", has_text="Acknowledged")).to_contain_text(
        "by Mo Ali — On it: rolling back release 412"
    )

    # The rollback worked: Alertmanager sends the resolved notification.
    ended = timezone.now()
    status, answer = alertmanager_sends(portal_url, notification("resolved", started, ended))
    assert (status, answer["status"]) == (202, "accepted")
    worker_runs()
    page.reload()
    expect(page.locator(".page-head .badge", has_text="resolved")).to_be_visible()
    expect(timeline.locator("li", has_text="Resolved")).to_contain_text("by Alertmanager")
    review = PostIncidentReview.objects.get(incident=incident)  # the policy asked for it
    due = review.due_on
    next_step = page.locator("section.next-step", has_text="Post-incident review")
    expect(next_step).to_contain_text(f"draft, due {due.day} {due:%b %Y}")

    # Resolved: off the home page, and the recovery time is measured.
    page.get_by_role("link", name="Flightdeck").click()
    expect(page.get_by_role("heading", name="Mo Ali")).to_be_visible()
    expect(page.get_by_role("heading", name="Open incidents")).to_have_count(0)
    failure, recovery = _dora_of_cart_api(page)
    expect(failure).to_contain_text("1 of 1 caused an incident")
    expect(recovery).to_contain_text("median of 1 resolved incidents")
    expect(recovery.locator(".value")).to_have_text(re.compile(r"^\d+ min$"))

    # The member writes the review and adds an action with an owner and a due date.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("navigation", name="Incidents").get_by_role(
        "link", name="Post-incident reviews"
    ).click()
    reviews_row = page.locator("tbody tr", has=page.get_by_role("link", name=TITLE))
    expect(reviews_row.locator(".badge", has_text="Draft")).to_be_visible()
    reviews_row.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=f"Review: {TITLE}")).to_be_visible()
    write = page.locator("form", has=page.get_by_role("button", name="Save"))
    write.get_by_label("Impact").fill("Checkout failed for 7% of customers for about 15 minutes.")
    write.get_by_label("Causes").fill(
        "Release 412 shipped a connection pool of 2 to production. #config-drift"
    )
    write.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    causes = page.get_by_role("heading", name="Causes").locator("+ p")
    expect(causes).to_have_text(
        "Release 412 shipped a connection pool of 2 to production. #config-drift"
    )

    action_due = timezone.localdate() + timedelta(days=14)
    page.locator("summary", has_text="Add an action").click()
    add = page.locator("form", has=page.get_by_role("button", name="Add", exact=True))
    add.get_by_label("Action").fill("Check pool sizes in the deploy pipeline")
    add.get_by_label("Owner").select_option(label="Mo Ali")
    add.get_by_label("Due").fill(action_due.isoformat())
    add.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("Action added.", exact=True)).to_be_visible()
    actions = page.locator("section", has=page.get_by_role("heading", name="Actions"))
    action = actions.locator("tbody tr", has_text="Check pool sizes in the deploy pipeline")
    expect(action).to_contain_text("Checkout")
    expect(action).to_contain_text("Mo Ali")
    expect(action).to_contain_text(f"{action_due.day} {action_due:%b %Y}")
    expect(action.locator(".badge", has_text="open")).to_be_visible()
    expect(action.locator(".badge", has_text="overdue")).to_have_count(0)
    _sign_out(page)

    # The lead publishes it.
    sign_in("lee", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("navigation", name="Incidents").get_by_role(
        "link", name="Post-incident reviews"
    ).click()
    expect(reviews_row).to_contain_text("1 open")
    reviews_row.get_by_role("link", name=TITLE).click()
    expect(page.get_by_text("written by Mo Ali")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published.", exact=True)).to_be_visible()
    expect(page.locator(".page-head > .badge")).to_have_text("Published")
    expect(page.get_by_text("Write the review")).to_have_count(0)  # the record now
    _sign_out(page)

    # The owner marks the action done; nothing is left open or overdue.
    sign_in("mo", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents").click()
    page.get_by_role("navigation", name="Incidents").get_by_role(
        "link", name="Post-incident reviews"
    ).click()
    expect(reviews_row.locator(".badge", has_text="Published")).to_be_visible()
    reviews_row.get_by_role("link", name=TITLE).click()
    action.get_by_role("button", name="mark done").click()
    expect(page.get_by_text("Marked done.", exact=True)).to_be_visible()
    expect(action.locator(".badge", has_text="done")).to_be_visible()
    expect(action.get_by_role("button", name="reopen")).to_be_visible()

    page.get_by_role("link", name="Post-incident reviews").first.click()
    expect(reviews_row).to_contain_text("0 open")
    expect(reviews_row.locator(".badge", has_text="overdue")).to_have_count(0)
    expect(page.get_by_role("heading", name=re.compile("Overdue actions"))).to_have_count(0)
