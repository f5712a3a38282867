"""What the monitoring and paging connectors (Alertmanager, PagerDuty, Opsgenie) share: the
service a payload names, severities from priorities, timeline entries and times.

Their items are incidents, not runs. Each tool names the service in its payload (an alert label,
a PagerDuty service, an Opsgenie tag); ``MonitoringConnector.route`` turns that into the name
the sync engine maps to a portal service: an entry of the source's repositories list when one
matches (case-insensitive), otherwise the name itself as a service slug (``names_services``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from pipelines.connectors.base import (
    Connector,
    IncidentEventRecord,
    RawItem,
    Repository,
    SourceOptions,
)

# Opsgenie P1..P5 and PagerDuty's default priority names P1..P5 (custom names map to nothing).
PRIORITY_SEVERITIES = {"P1": "sev1", "P2": "sev2", "P3": "sev3", "P4": "sev4", "P5": "sev4"}
TEXT_LIMIT = 4000  # summaries and timeline text are kept readable, not whole runbooks


class Payload(BaseModel):
    """Vendor payloads: frozen, and the fields vendors add later are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def mapped_name(names: Iterable[str], repositories: Iterable[Repository]) -> str:
    """The configured repositories entry one of ``names`` matches (first name first), else the
    first name, else ""."""
    names = [name for name in names if name]
    configured = {entry.name.casefold(): entry.name for entry in repositories}
    for name in names:
        if name.casefold() in configured:
            return configured[name.casefold()]
    return names[0] if names else ""


def event_key(*parts: object) -> str:
    """A dedupe key for a timeline entry that has no vendor id: a hash of what identifies it."""
    return "h:" + hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:40]


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def epoch(value: int) -> datetime:
    """Epoch milliseconds, microseconds or nanoseconds (Opsgenie's ``updatedAt`` is in
    nanoseconds, its ``createdAt`` in milliseconds), told apart by magnitude."""
    if value >= 10**17:
        return datetime.fromtimestamp(value / 10**9, UTC)
    if value >= 10**14:
        return datetime.fromtimestamp(value / 10**6, UTC)
    return datetime.fromtimestamp(value / 1000, UTC)


def clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link(*urls: str | None) -> str:
    """The first URL that fits the incident's link column (a long Prometheus graph URL does
    not: the next one, or none, beats a cut URL that leads nowhere)."""
    return next((url for url in urls if url and len(url) <= 500), "")


def moment_event(kind: str, at: datetime, actor: str = "", text: str = "", key: str = ""):
    return IncidentEventRecord(
        kind=kind, at=at, actor_name=clip(actor, 200), text=clip(text), dedupe_key=key
    )


class MonitoringConnector(Connector):
    """A monitoring or paging tool: webhooks bring incidents, and the service is in the payload."""

    names_services = True

    @classmethod
    def service_names(cls, item: RawItem, options: SourceOptions) -> list[str]:
        """The names of the service ``item`` belongs to, best first ([]: it names none)."""
        raise NotImplementedError

    @classmethod
    def route(cls, items: list[RawItem], options: SourceOptions) -> list[RawItem]:
        routed = []
        for item in items:
            name = mapped_name(cls.service_names(item, options), options.repositories)
            if name:
                routed.append(replace(item, repository=name))
        return routed
