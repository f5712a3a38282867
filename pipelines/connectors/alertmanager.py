"""Prometheus Alertmanager: ``webhook_config`` notifications (payload version 4) become incidents.

One incident per alert occurrence: Alertmanager identifies an alert by its ``fingerprint`` (a
hash of its labels) and an occurrence by ``startsAt``, which stays the same in every re-send
(``repeat_interval``) until it resolves; so the external id is ``<fingerprint>@<startsAt>``
(startsAt in UTC to the millisecond, the precision Alertmanager's API writes). A grouped
notification carries many alerts, each its own item. The service is the alert's
``service_label`` label (default ``service``).

Not polled: ``GET /api/v2/alerts`` is current state only (docs/monitoring-sources.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from pipelines.connectors.base import (
    IncidentRecord,
    RawItem,
    Record,
    Repository,
    SourceOptions,
)
from pipelines.connectors.monitoring import (
    MonitoringConnector,
    Payload,
    clip,
    link,
    moment_event,
    utc,
)

# The ``severity`` label's common values (case-insensitive) -> portal severity; others: none.
SEVERITIES = {
    "critical": "sev1",
    "page": "sev1",
    "error": "sev2",
    "high": "sev2",
    "major": "sev2",
    "warning": "sev3",
    "minor": "sev3",
    "info": "sev4",
    "low": "sev4",
    "none": "sev4",
}
ACTOR = "Alertmanager"


class AlertmanagerAlertPayload(Payload):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    starts_at: datetime = Field(validation_alias="startsAt")
    # Go's zero time ("0001-01-01T00:00:00Z") while firing.
    ends_at: datetime | None = Field(None, validation_alias="endsAt")
    generator_url: str = Field("", validation_alias="generatorURL")
    fingerprint: str = ""

    @property
    def ended_at(self) -> datetime | None:
        if self.ends_at is None or self.ends_at.year <= 1:
            return None
        return utc(self.ends_at)


class AlertmanagerNotificationPayload(Payload):
    """The body of one webhook notification (Alertmanager's ``webhook_config``)."""

    version: str
    group_key: str = Field("", validation_alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field({}, validation_alias="groupLabels")
    common_labels: dict[str, str] = Field({}, validation_alias="commonLabels")
    external_url: str = Field("", validation_alias="externalURL")
    alerts: list[AlertmanagerAlertPayload]
    truncated_alerts: int = Field(0, validation_alias="truncatedAlerts")


class AlertmanagerContextPayload(Payload):
    """What an alert item carries from its notification."""

    external_url: str = Field("", validation_alias="externalURL")
    receiver: str = ""


class AlertmanagerConnector(MonitoringConnector):
    kind = "alertmanager"

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        return ({"Authorization": f"Bearer {token}"} if token else {}), None

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Nothing: Alertmanager is webhook-only (not in ``POLLED_KINDS``)."""
        return iter(())

    @staticmethod
    def webhook_event(payload: dict[str, Any]) -> str:
        status = payload.get("status")
        return f"alertmanager.{status}" if isinstance(status, str) else "alertmanager"

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """One item per alert of the notification, once the whole body is valid (a malformed
        alert rejects the notification: nothing half-recorded)."""
        notification = AlertmanagerNotificationPayload.model_validate(payload)
        context = {"externalURL": notification.external_url, "receiver": notification.receiver}
        return [
            RawItem(kind="alertmanager.alert", repository="", payload=alert, context=context)
            for alert in payload["alerts"]
        ]

    @classmethod
    def service_names(cls, item: RawItem, options: SourceOptions) -> list[str]:
        labels = item.payload.get("labels")
        value = labels.get(options.service_label) if isinstance(labels, dict) else None
        return [value] if isinstance(value, str) and value else []

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        if item.kind != "alertmanager.alert":
            raise ValueError(f"not an Alertmanager item: {item.kind!r}")
        return [alert_incident(item)]


def alert_incident(item: RawItem) -> IncidentRecord:
    """The incident of one alert: opened at ``startsAt``, resolved at ``endsAt``."""
    alert = AlertmanagerAlertPayload.model_validate(item.payload)
    context = AlertmanagerContextPayload.model_validate(item.context)
    started = utc(alert.starts_at)
    ended = alert.ended_at if alert.status == "resolved" else None
    if alert.status == "resolved" and ended is None:
        raise ValueError("a resolved alert without endsAt: its resolution cannot be dated")
    name = alert.labels.get("alertname", "alert")
    headline = alert.annotations.get("summary", "")
    events = [moment_event("opened", started, ACTOR, headline or name)]
    if ended is not None:
        events.append(moment_event("resolved", ended, ACTOR))
    return IncidentRecord(
        external_id=external_id(alert),
        title=f"{name}: {headline}" if headline else name,
        opened_at=started,
        resolved_at=ended,
        url=link(alert.generator_url, context.external_url),
        severity=SEVERITIES.get(alert.labels.get("severity", "").casefold(), ""),
        summary=clip(alert.annotations.get("description") or headline),
        labels=dict(alert.labels),
        events=tuple(events),
        snapshot=False,
    )


def external_id(alert: AlertmanagerAlertPayload) -> str:
    """``<fingerprint>@<startsAt>``. An old Alertmanager that sends no fingerprint gets a hash
    of its sorted labels instead (stable across re-sends, which is what matters here)."""
    fingerprint = (
        alert.fingerprint
        or (hashlib.sha256(repr(sorted(alert.labels.items())).encode()).hexdigest()[:16])
    )
    started = utc(alert.starts_at)
    return f"{fingerprint}@{started:%Y-%m-%dT%H:%M:%S}.{started.microsecond // 1000:03d}Z"
