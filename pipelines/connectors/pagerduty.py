"""PagerDuty: webhooks v3 (one event per delivery) and the REST API's incidents for reconciliation.

The source's repositories list maps PagerDuty services to portal services, by service id or
name (``{"name": "PF9KMXH", "service": "cart-api"}``); incidents of other services are ignored.
The external id is the PagerDuty incident id, so the webhook and the poll write one incident.

Polling (``GET /incidents``, ``Authorization: Token token=...``) reads a service's incidents
created since the oldest one still open at the last poll (the backfill window the first time),
in windows of at most 179 days (the API allows six months), 100 per page with ``offset``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import AliasChoices, Field

from pipelines.connectors.base import (
    IncidentEventRecord,
    IncidentRecord,
    RawItem,
    Record,
    Repository,
    SourceOptions,
)
from pipelines.connectors.http import ConnectorError
from pipelines.connectors.monitoring import (
    PRIORITY_SEVERITIES,
    MonitoringConnector,
    Payload,
    link,
    moment_event,
    utc,
)
from pipelines.connectors.times import parse_time

# Webhook v3 event types -> the timeline entry they make ("" : the incident, no entry).
EVENT_KINDS = {
    "incident.triggered": "opened",
    "incident.acknowledged": "acknowledged",
    "incident.unacknowledged": "update",
    "incident.resolved": "resolved",
    "incident.reopened": "reopened",
    "incident.priority_updated": "update",
}
URGENCY_SEVERITIES = {"high": "sev2", "low": "sev4"}
WINDOW = timedelta(days=179)
OVERLAP = timedelta(minutes=10)  # incidents appear in the list a little after they are created
PAGE_SIZE = 100
ACTOR = "PagerDuty"


class PagerDutyReferencePayload(Payload):
    id: str
    summary: str = ""


class PagerDutyAcknowledgementPayload(Payload):
    at: datetime
    acknowledger: PagerDutyReferencePayload | None = None


class PagerDutyIncidentPayload(Payload):
    """An incident: a webhook's ``event.data``, or one of ``GET /incidents``."""

    id: str
    number: int | None = Field(None, validation_alias=AliasChoices("number", "incident_number"))
    title: str = ""
    status: str = ""
    created_at: datetime
    service: PagerDutyReferencePayload
    urgency: str = ""
    priority: PagerDutyReferencePayload | None = None
    html_url: str = ""
    # The REST object only:
    acknowledgements: list[PagerDutyAcknowledgementPayload] = []
    resolved_at: datetime | None = None
    last_status_change_at: datetime | None = None
    last_status_change_by: PagerDutyReferencePayload | None = None

    @property
    def severity(self) -> str:
        """The priority (P1..P5) when set, else the urgency (high: sev2, low: sev4)."""
        by_priority = PRIORITY_SEVERITIES.get(self.priority.summary if self.priority else "")
        return by_priority or URGENCY_SEVERITIES.get(self.urgency, "")

    def record(self, **moments: Any) -> IncidentRecord:
        return IncidentRecord(
            external_id=self.id,
            title=f"#{self.number} {self.title}" if self.number else self.title,
            opened_at=utc(self.created_at),
            url=link(self.html_url),
            severity=self.severity,
            labels={"pagerduty_service": self.service.summary or self.service.id},
            snapshot=False,
            **moments,
        )


class PagerDutyEventPayload(Payload):
    id: str
    event_type: str
    occurred_at: datetime
    agent: PagerDutyReferencePayload | None = None
    data: dict[str, Any]


class PagerDutyWebhookPayload(Payload):
    """A v3 webhook body: exactly one event."""

    event: PagerDutyEventPayload


class PagerDutyConnector(MonitoringConnector):
    kind = "pagerduty"
    names_services = False  # only services the repositories list maps

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        return {
            "Authorization": f"Token token={token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
        }, None

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Yield the service's incidents created since the cursor, oldest first.

        1. Find the service id (the configured name may be a service's name; remembered).
        2. Read ``GET /incidents`` for the service from the cursor (``state["open_since"]``,
           or ``since`` the first time and when ``full``) to now, window by window.
        3. Move the cursor to the oldest incident still open (else to now, less a margin for
           incidents listed late): open ones are read again until they resolve.
        """
        service_id = state.get("service_id") or self._service_id(repository.name)
        state["service_id"] = service_id
        now = datetime.now(UTC)
        cursor = parse_time(state.get("open_since")) if not full else None
        start = max(cursor or since, now - 4 * WINDOW)
        oldest_open: datetime | None = None
        while start < now:
            until = min(start + WINDOW, now)
            for incident in self._incidents(service_id, start, until):
                created = _created(incident) or start  # a bad one fails in normalise
                if isinstance(incident, dict) and incident.get("status") != "resolved":
                    oldest_open = min(oldest_open or created, created)
                yield RawItem(
                    kind="pagerduty.incident", repository=repository.name, payload=incident
                )
            start = until
        state["open_since"] = (oldest_open or now - OVERLAP).isoformat()

    def _service_id(self, name: str) -> str:
        try:  # an id first (GET /services/{id}), then a service of that name
            return self.http.get_json(f"services/{quote(name, safe='')}")["service"]["id"]
        except ConnectorError as error:
            if error.status not in (400, 404):
                raise
        except (KeyError, TypeError):
            pass
        found = self.http.get_json("services", {"query": name, "limit": PAGE_SIZE})
        for service in found.get("services", []) if isinstance(found, dict) else []:
            if str(service.get("name", "")).casefold() == name.casefold():
                return service["id"]
        raise ConnectorError(f"no PagerDuty service has the id or name {name!r}", permanent=True)

    def _incidents(self, service_id: str, since: datetime, until: datetime) -> Iterator[dict]:
        offset = 0
        while True:
            page = self.http.get_json(
                "incidents",
                {
                    "service_ids[]": service_id,
                    "since": since.isoformat(),
                    "until": until.isoformat(),
                    "sort_by": "created_at:asc",
                    "time_zone": "UTC",
                    "limit": PAGE_SIZE,
                    "offset": offset,
                },
            )
            incidents = page.get("incidents") if isinstance(page, dict) else None
            if not isinstance(incidents, list):
                raise ConnectorError("GET /incidents answered without a list", permanent=True)
            yield from incidents
            offset += len(incidents)
            if not page.get("more") or not incidents:
                return

    @staticmethod
    def webhook_event(payload: dict[str, Any]) -> str:
        event = payload.get("event")
        kind = event.get("event_type") if isinstance(event, dict) else None
        return kind if isinstance(kind, str) else "pagerduty"

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """The incident event, validated whole; [] for event types we do not use."""
        envelope = PagerDutyWebhookPayload.model_validate(payload)
        if envelope.event.event_type not in EVENT_KINDS:
            return []
        incident = PagerDutyIncidentPayload.model_validate(envelope.event.data)
        return [RawItem(kind="pagerduty.webhook", repository=incident.service.id, payload=payload)]

    @classmethod
    def service_names(cls, item: RawItem, options: SourceOptions) -> list[str]:
        incident = item.payload.get("event", {}).get("data", {}) if _is_hook(item) else item.payload
        service = incident.get("service") if isinstance(incident, dict) else None
        if not isinstance(service, dict):
            return []
        return [str(service.get("id", "")), str(service.get("summary", ""))]

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        if item.kind == "pagerduty.webhook":
            return [_webhook_record(item.payload)]
        if item.kind == "pagerduty.incident":
            return [_polled_record(item.payload)]
        raise ValueError(f"not a PagerDuty item: {item.kind!r}")


def _created(incident: Any) -> datetime | None:
    try:
        return parse_time(incident.get("created_at")) if isinstance(incident, dict) else None
    except ValueError:
        return None


def _is_hook(item: RawItem) -> bool:
    return item.kind == "pagerduty.webhook"


def _webhook_record(payload: dict[str, Any]) -> IncidentRecord:
    event = PagerDutyWebhookPayload.model_validate(payload).event
    incident = PagerDutyIncidentPayload.model_validate(event.data)
    kind = EVENT_KINDS.get(event.event_type)
    if kind is None:
        raise ValueError(f"not an incident state change: {event.event_type!r}")
    at = utc(event.occurred_at)
    actor = event.agent.summary if event.agent else ACTOR
    key = f"pd:{event.id}"
    if kind == "opened":
        entry = moment_event("opened", utc(incident.created_at), actor, key=key)
    elif kind == "update":
        said = {
            "incident.unacknowledged": "Unacknowledged",
            "incident.priority_updated": "Priority "
            + (incident.priority.summary if incident.priority else "removed"),
        }[event.event_type]
        entry = moment_event("update", at, actor, said, key)
    else:
        entry = moment_event(kind, at, actor, key=key)
    moments = {
        "acknowledged_at": at if kind == "acknowledged" else None,
        "resolved_at": at if kind == "resolved" else None,
        "status": incident.status if incident.status in {"triggered", "acknowledged"} else "",
    }
    return incident.record(events=(entry,), **moments)


def _polled_record(payload: dict[str, Any]) -> IncidentRecord:
    """The incident as the REST API shows it now: its acknowledgement and resolution moments
    with who (a reopened incident shows as open: only the webhook's reopened event reopens)."""
    incident = PagerDutyIncidentPayload.model_validate(payload)
    events: list[IncidentEventRecord] = [moment_event("opened", utc(incident.created_at), ACTOR)]
    acknowledged_at = None
    if incident.acknowledgements:
        first = min(incident.acknowledgements, key=lambda ack: ack.at)
        acknowledged_at = utc(first.at)
        who = first.acknowledger.summary if first.acknowledger else ACTOR
        events.append(moment_event("acknowledged", acknowledged_at, who))
    resolved_at = None
    if incident.status == "resolved":
        moment = incident.resolved_at or incident.last_status_change_at
        if moment is None:
            raise ValueError("a resolved incident without resolved_at or last_status_change_at")
        resolved_at = utc(moment)
        by = incident.last_status_change_by
        events.append(moment_event("resolved", resolved_at, by.summary if by else ACTOR))
    return incident.record(
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        status="acknowledged" if incident.status == "acknowledged" else "",
        events=tuple(events),
    )
