"""Fixtures for the monitoring sources: one source per tool, recorded payloads, signed posts.

Payloads come from the vendors' documentation (payloads/SOURCES.md); the builders below vary
one recorded body (event type, times, tags) rather than hand-writing new shapes.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client

from pipelines import services
from pipelines.ingest import rawevents_process
from pipelines.models import Incident, RawEvent
from tests.factories import ServiceFactory

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "s3cret-hook"


def recorded(tool: str, name: str) -> dict:
    return json.loads((PAYLOADS / tool / name).read_text())


AM_FIRING = recorded("alertmanager", "firing.docsrs-sample-EDITED.json")
AM_GROUPED = recorded("alertmanager", "grouped.prometheus-docs-shape-HANDMADE.json")
PD_SAMPLE = recorded("pagerduty", "incident.priority_updated.pd-docs.json")
OG_CREATE = recorded("opsgenie", "create.opsgenie-docs-EDITED.json")


def post(source, body, **headers):
    """POST ``body`` (a dict, or raw bytes) to the source's webhook, with ``headers``."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().generic(
        "POST",
        f"/webhooks/{source.kind}/{source.slug}/",
        data,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )


def process() -> Counter:
    """What the worker does after the webhook's commit: normalise the pending deliveries."""
    pending = RawEvent.objects.filter(status=RawEvent.Status.PENDING).values_list("id", flat=True)
    return rawevents_process(ids=list(pending))


def timeline(incident: Incident) -> list[tuple[str, str]]:
    return [(e.kind, e.actor_name) for e in incident.events.order_by("at", "id")]


# --- Alertmanager ----------------------------------------------------------------------------


def am_post(source, body, token: str = SECRET):
    return post(source, body, Authorization=f"Bearer {token}")


def am_resolved(body: dict, ends_at: str = "2023-02-06T13:38:45.828Z") -> dict:
    resolved = copy.deepcopy(body)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"], alert["endsAt"] = "resolved", ends_at
    return resolved


def am_alert(body: dict, **labels) -> dict:
    """``body`` with its first alert's labels changed."""
    changed = copy.deepcopy(body)
    changed["alerts"][0]["labels"].update(labels)
    return changed


# --- PagerDuty -------------------------------------------------------------------------------


def pd_signature(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def pd_event(
    event_type: str,
    *,
    at: str = "2020-04-09T15:20:00Z",
    event_id: str | None = None,
    status: str = "triggered",
    priority: str | None = "P1",
    urgency: str = "high",
    service: tuple[str, str] = ("PF9KMXH", "API Service"),
    agent: str = "Tenex Engineer",
) -> dict:
    """The documented ``incident.priority_updated`` body as another event of the incident."""
    body = copy.deepcopy(PD_SAMPLE)
    event = body["event"]
    event["id"] = event_id or f"{event_type}-{at}"
    event["event_type"], event["occurred_at"] = event_type, at
    event["agent"]["summary"] = agent
    data = event["data"]
    data["status"], data["urgency"] = status, urgency
    data["priority"] = {**data["priority"], "summary": priority} if priority else None
    data["service"]["id"], data["service"]["summary"] = service
    return body


def pd_post(source, body: dict, *, secret: str = SECRET, webhook_id: str | None = None):
    data = json.dumps(body).encode()
    headers = {"X-PagerDuty-Signature": pd_signature(data, secret)}
    if webhook_id:
        headers["X-Webhook-Id"] = webhook_id
    return post(source, data, **headers)


# --- Opsgenie --------------------------------------------------------------------------------


def og_action(
    action: str,
    *,
    updated_ns: int = 1420452224764002246,
    username: str = "fili@ifountain.com",
    tags: list[str] | None = None,
    priority: str | None = "P1",
    note: str = "",
) -> dict:
    """The documented Create body as another action on the same alert."""
    body = copy.deepcopy(OG_CREATE)
    body["action"] = action
    alert = body["alert"]
    alert["updatedAt"], alert["username"] = updated_ns, username
    if tags is not None:
        alert["tags"] = tags
    if priority is None:
        alert.pop("priority")
    else:
        alert["priority"] = priority
    if note:
        alert["note"] = note
    return body


def og_post(source, body, token: str = SECRET):
    return post(source, body, **{"X-Flightdeck-Token": token})


# --- sources ---------------------------------------------------------------------------------


@pytest.fixture
def search(org):
    """Mobile's Search service: the other service of a grouped notification."""
    return ServiceFactory(team=org.mobile, name="Search", slug="search")


@pytest.fixture
def monitoring_source(org, service, search):
    """``monitoring_source(kind, **fields)``: a source of a monitoring tool, secret set."""

    def make(kind: str, **fields):
        defaults = {
            "alertmanager": "http://alertmanager.example.org:9093/",
            "pagerduty": "https://api.pagerduty.com/",
            "opsgenie": "https://api.opsgenie.com/",
        }
        return services.source_create(
            actor=org.users["ada"],
            kind=kind,
            name=fields.pop("name", f"{kind} source"),
            base_url=fields.pop("base_url", defaults.get(kind, "")),
            token=fields.pop("token", "api-t0ken"),
            webhook_secret=fields.pop("webhook_secret", SECRET),
            repositories=fields.pop("repositories", []),
            **fields,
        )

    return make


@pytest.fixture
def alertmanager(monitoring_source):
    return monitoring_source("alertmanager")


@pytest.fixture
def pagerduty(monitoring_source):
    return monitoring_source("pagerduty", repositories=[{"name": "PF9KMXH", "service": "cart-api"}])


@pytest.fixture
def opsgenie(monitoring_source):
    return monitoring_source("opsgenie")
