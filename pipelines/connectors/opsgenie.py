"""Opsgenie: the Webhook integration's alert actions, and the Alert API for reconciliation.

An alert is an incident (external id: ``alertId``). Its service comes from its tags, which every
action's payload carries: a tag ``<service label>:<name>`` (or ``=``; default label
``service``), else a tag the source's repositories list maps; a Create payload's details
(extra properties) may name it too (``<service label>: <name>``).

Polling (``GET /v2/alerts``, ``Authorization: GenieKey ...``) reads the account's alerts
created since the oldest one still open at the last poll, 100 per page, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

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
    clip,
    epoch,
    event_key,
    moment_event,
    utc,
)
from pipelines.connectors.times import parse_time

# Webhook alert actions -> the timeline entry they make; other actions are not used.
ACTIONS = {
    "Create": "opened",
    "Acknowledge": "acknowledged",
    "UnAcknowledge": "update",
    "AddNote": "update",
    "Close": "resolved",
}
DEFAULT_PRIORITY = "P3"  # Opsgenie's own default when an alert is created without one
PAGE_SIZE = 100
MAX_OFFSET = 20_000  # the Alert API refuses offset + limit beyond this
OVERLAP = timedelta(minutes=10)
ACTOR = "Opsgenie"


class OpsgenieWebhookAlertPayload(Payload):
    alert_id: str = Field(validation_alias="alertId")
    message: str = ""
    tags: list[str] = []
    tiny_id: str = Field("", validation_alias="tinyId")
    created_at: int = Field(validation_alias="createdAt")  # epoch ms
    updated_at: int | None = Field(None, validation_alias="updatedAt")  # epoch ns
    username: str = ""  # who did the action
    priority: str = ""
    description: str = ""  # sent for Create when the integration is set to
    details: dict[str, str] = {}  # ditto
    note: str = ""
    source: str = ""


class OpsgenieSourcePayload(Payload):
    name: str = ""
    type: str = ""


class OpsgenieWebhookPayload(Payload):
    """A Webhook integration body: one alert action."""

    action: str
    alert: OpsgenieWebhookAlertPayload
    source: OpsgenieSourcePayload | None = None
    integration_name: str = Field("", validation_alias="integrationName")


class OpsgenieReportPayload(Payload):
    ack_time: int | None = Field(None, validation_alias="ackTime")  # ms after creation
    close_time: int | None = Field(None, validation_alias="closeTime")  # ditto
    acknowledged_by: str = Field("", validation_alias="acknowledgedBy")
    closed_by: str = Field("", validation_alias="closedBy")


class OpsgenieAlertPayload(Payload):
    """One alert of ``GET /v2/alerts``."""

    id: str
    tiny_id: str = Field("", validation_alias="tinyId")
    message: str = ""
    status: str = ""  # open | closed
    acknowledged: bool = False
    tags: list[str] = []
    created_at: datetime = Field(validation_alias="createdAt")
    updated_at: datetime | None = Field(None, validation_alias="updatedAt")
    priority: str = ""
    source: str = ""
    report: OpsgenieReportPayload | None = None


class OpsgenieConnector(MonitoringConnector):
    kind = "opsgenie"
    polls_per_repository = False  # one account, whichever services its alerts name

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        return {"Authorization": f"GenieKey {token}"}, None

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Yield the alerts created since the cursor (``state["open_since_ms"]``, or ``since``
        the first time and when ``full``), oldest first; then move the cursor to the oldest
        alert still open (open alerts are read again until they close)."""
        start = int(state["open_since_ms"]) if "open_since_ms" in state and not full else _ms(since)
        oldest_open: int | None = None
        last_seen: int | None = None
        offset = 0
        while True:
            page = self.http.get_json(
                "v2/alerts",
                {
                    "query": f"createdAt > {start - 1}",
                    "sort": "createdAt",
                    "order": "asc",
                    "limit": PAGE_SIZE,
                    "offset": offset,
                },
            )
            alerts = page.get("data") if isinstance(page, dict) else None
            if not isinstance(alerts, list):
                raise ConnectorError("GET /v2/alerts answered without data", permanent=True)
            for alert in alerts:
                created = _created_ms(alert)  # None: a bad alert, failed in normalise
                last_seen = created or last_seen
                if created is not None and alert.get("status") != "closed":
                    oldest_open = created if oldest_open is None else min(oldest_open, created)
                yield RawItem(kind="opsgenie.alert", repository=repository.name, payload=alert)
            offset += len(alerts)
            if len(alerts) < PAGE_SIZE:
                last_seen = None  # read to the end
                break
            if offset >= MAX_OFFSET:
                break  # the rest next time, from the last alert read
        # The oldest alert still open, or where a long backlog stopped, or else now (less a
        # margin for alerts listed late).
        resume = [m for m in (oldest_open, last_seen) if m is not None]
        state["open_since_ms"] = min(resume) if resume else _ms(datetime.now(UTC) - OVERLAP)

    @staticmethod
    def webhook_event(payload: dict[str, Any]) -> str:
        action = payload.get("action")
        return f"opsgenie.{action}" if isinstance(action, str) else "opsgenie"

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """The alert action, validated whole; [] for actions we do not use."""
        hook = OpsgenieWebhookPayload.model_validate(payload)
        if hook.action not in ACTIONS:
            return []
        return [RawItem(kind="opsgenie.webhook", repository="", payload=payload)]

    @classmethod
    def route(cls, items: list[RawItem], options: SourceOptions) -> list[RawItem]:
        routed = []
        configured = {entry.name.casefold(): entry.name for entry in options.repositories}
        for item in items:
            alert = item.payload.get("alert") if item.kind == "opsgenie.webhook" else item.payload
            alert = alert if isinstance(alert, dict) else {}
            tags = [tag for tag in alert.get("tags") or [] if isinstance(tag, str)]
            named = [_labelled(tag, options.service_label) for tag in tags]
            details = alert.get("details")
            if isinstance(details, dict) and isinstance(details.get(options.service_label), str):
                named.append(details[options.service_label])
            named = [name for name in named if name]
            matched = [
                configured[n.casefold()] for n in [*named, *tags] if n.casefold() in configured
            ]
            name = (matched or named or [""])[0]
            if name:
                routed.append(RawItem(item.kind, name, item.payload, item.context))
        return routed

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        if item.kind == "opsgenie.webhook":
            return [_webhook_record(item.payload)]
        if item.kind == "opsgenie.alert":
            return [_polled_record(item.payload)]
        raise ValueError(f"not an Opsgenie item: {item.kind!r}")


def _labelled(tag: str, label: str) -> str:
    """``service:cart-api`` (or ``service=cart-api``) -> ``cart-api`` for label ``service``."""
    for separator in (":", "="):
        key, found, value = tag.partition(separator)
        if found and key.strip().casefold() == label.casefold():
            return value.strip()
    return ""


def _created_ms(alert: Any) -> int | None:
    try:
        created = parse_time(alert.get("createdAt")) if isinstance(alert, dict) else None
    except ValueError:
        return None
    return _ms(created) if created else None


def _ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


def _severity(priority: str) -> str:
    return PRIORITY_SEVERITIES.get(priority or DEFAULT_PRIORITY, "")


def _labels(tags: list[str], details: dict[str, str]) -> dict[str, str]:
    return {**details, **({"tags": ", ".join(tags)} if tags else {})}


def _webhook_record(payload: dict[str, Any]) -> IncidentRecord:
    hook = OpsgenieWebhookPayload.model_validate(payload)
    alert = hook.alert
    kind = ACTIONS.get(hook.action)
    if kind is None:
        raise ValueError(f"not an alert action we record: {hook.action!r}")
    opened = epoch(alert.created_at)
    actor = alert.username or (hook.source.name if hook.source else "") or ACTOR
    if kind == "opened":
        at = opened
    elif alert.updated_at is None:
        raise ValueError(f"{hook.action} without alert.updatedAt: the action cannot be dated")
    else:
        at = epoch(alert.updated_at)
    text = {"AddNote": alert.note, "UnAcknowledge": "Unacknowledged", "Create": alert.message}
    entry = moment_event(
        kind,
        at,
        actor,
        text.get(hook.action, ""),
        event_key("opsgenie", alert.alert_id, hook.action, alert.updated_at, alert.note),
    )
    return IncidentRecord(
        external_id=alert.alert_id,
        title=alert.message.strip() or f"Opsgenie alert {alert.tiny_id or alert.alert_id}",
        opened_at=opened,
        acknowledged_at=at if kind == "acknowledged" else None,
        resolved_at=at if kind == "resolved" else None,
        severity=_severity(alert.priority),
        summary=clip(alert.description),
        labels=_labels(alert.tags, alert.details),
        events=(entry,),
        snapshot=False,
    )


def _polled_record(payload: dict[str, Any]) -> IncidentRecord:
    """The alert as the Alert API shows it: ``report`` says after how long it was acknowledged
    and closed, and by whom."""
    alert = OpsgenieAlertPayload.model_validate(payload)
    report = alert.report or OpsgenieReportPayload()
    opened = utc(alert.created_at)
    events: list[IncidentEventRecord] = [moment_event("opened", opened, alert.source or ACTOR)]
    acknowledged_at = None
    if alert.acknowledged and report.ack_time is not None:
        acknowledged_at = opened + timedelta(milliseconds=report.ack_time)
        events.append(moment_event("acknowledged", acknowledged_at, report.acknowledged_by))
    resolved_at = None
    if alert.status == "closed":
        if report.close_time is not None:
            resolved_at = opened + timedelta(milliseconds=report.close_time)
        elif alert.updated_at is not None:
            resolved_at = utc(alert.updated_at)
        else:
            raise ValueError("a closed alert without report.closeTime or updatedAt")
        events.append(moment_event("resolved", resolved_at, report.closed_by))
    return IncidentRecord(
        external_id=alert.id,
        title=alert.message.strip() or f"Opsgenie alert {alert.tiny_id or alert.id}",
        opened_at=opened,
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
        status="acknowledged" if alert.acknowledged else "",
        severity=_severity(alert.priority),
        labels=_labels(alert.tags, {}),
        events=tuple(events),
        snapshot=False,
    )
