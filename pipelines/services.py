"""Writes of the pipelines app: CI sources, queued syncs, and records pushed through the API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.text import slugify

from pipelines.connectors.base import ChangeRecord, DeploymentRecord, RunStatus
from pipelines.models import CISource, Deployment, Incident, Severity, SyncRun
from pipelines.records import records_apply
from pipelines.signals import records_stored
from portal import outbound
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError
from portal.models import Service

DEFAULT_BASE_URLS = {
    CISource.Kind.GITHUB: "https://api.github.com/",
    CISource.Kind.PAGERDUTY: "https://api.pagerduty.com/",
    CISource.Kind.OPSGENIE: "https://api.opsgenie.com/",  # EU accounts: api.eu.opsgenie.com
}
SOURCE_FIELDS = {
    "kind",
    "name",
    "slug",
    "base_url",
    "repositories",
    "poll_interval_seconds",
    "deployment_pattern",
    "incident_label",
    "service_label",
    "min_severity",
    "backfill_days",
    "is_active",
}
PUSH_SOURCE_SLUG = "push-api"


def _check_base_url(url: str) -> None:
    # Outbound requests go only to this URL (the HTTP client enforces the origin), only over
    # HTTP(S) (no file://, ftp:// or gopher:// tricks), and only to public addresses unless the
    # settings allow private ones (the SSRF guard, checked again at every connection).
    if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).hostname:
        raise ApplicationError(
            "Invalid base URL.",
            extra={"base_url": ["Use an http:// or https:// URL of the CI server's API."]},
        )
    problem = outbound.url_problem(url)
    if problem is not None:
        raise ApplicationError("Refused base URL.", extra={"base_url": [problem]})


def _check_min_severity(value: str) -> None:
    if value and value not in Severity.values:
        raise ApplicationError(
            "Unknown severity.",
            extra={
                "min_severity": [f"Leave it blank or choose one of {', '.join(Severity.values)}."]
            },
        )


def _check_pattern(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ApplicationError(
            "Invalid pattern.",
            extra={"deployment_pattern": [f"Not a valid regular expression: {error}"]},
        ) from None


@transaction.atomic
def source_create(*, actor, token: str = "", webhook_secret: str = "", **fields: Any) -> CISource:
    unknown = set(fields) - SOURCE_FIELDS
    if unknown:
        raise ApplicationError("Unknown fields.", extra={n: ["Unknown field."] for n in unknown})
    fields.setdefault("slug", slugify(fields.get("name", "")))
    if not fields.get("base_url"):
        fields["base_url"] = DEFAULT_BASE_URLS.get(fields.get("kind"), "")
    if not fields["base_url"]:
        raise ApplicationError(
            "A base URL is required.",
            extra={"base_url": ["This source kind needs its server's URL."]},
        )
    _check_base_url(fields["base_url"])
    _check_pattern(fields.get("deployment_pattern", r"(?i)deploy"))
    _check_min_severity(fields.get("min_severity", ""))
    source = CISource(**fields)
    source.set_token(token)
    source.set_webhook_secret(webhook_secret)
    source.full_clean()
    source.save()
    audit_record(
        actor=actor, action="cisource.create", instance=source, after=audit_snapshot(source)
    )
    return source


@transaction.atomic
def source_update(*, actor, source: CISource, data: dict[str, Any]) -> CISource:
    data = dict(data)
    before = audit_snapshot(source)
    token, secret = data.pop("token", None), data.pop("webhook_secret", None)
    unknown = set(data) - SOURCE_FIELDS
    if unknown:
        raise ApplicationError("Unknown fields.", extra={n: ["Unknown field."] for n in unknown})
    if "slug" in data and data["slug"] != source.slug and source.has_token:
        # Secrets are bound to the slug (authenticated data): re-encrypt under the new one.
        token = source.get_token() if token is None else token
        secret = source.get_webhook_secret() if secret is None else secret
    for name, value in data.items():
        setattr(source, name, value)
    _check_base_url(source.base_url)
    _check_pattern(source.deployment_pattern)
    _check_min_severity(source.min_severity)
    if token is not None:
        source.set_token(token)
    if secret is not None:
        source.set_webhook_secret(secret)
    source.full_clean()
    source.save()
    after = audit_snapshot(source)
    after["secrets_changed"] = [
        n for n, v in (("token", token), ("webhook_secret", secret)) if v is not None
    ]
    audit_record(actor=actor, action="cisource.update", instance=source, before=before, after=after)
    return source


@transaction.atomic
def source_delete(*, actor, source: CISource) -> None:
    audit_record(
        actor=actor, action="cisource.delete", instance=source, before=audit_snapshot(source)
    )
    source.delete()


def sync_source_queue(*, source: CISource, trigger: str, full: bool = False) -> SyncRun:
    """Record a queued sync and send its task once the transaction commits."""
    from pipelines.tasks import source_sync_task

    sync_run = SyncRun.objects.create(source=source, trigger=trigger, full=full)
    transaction.on_commit(lambda: source_sync_task.delay(source.pk, sync_run.pk, full))
    return sync_run


# --- the push API ------------------------------------------------------------------------------


def push_source() -> CISource:
    """The built-in source that owns records pushed through the API."""
    source, _ = CISource.objects.get_or_create(
        slug=PUSH_SOURCE_SLUG,
        defaults={"kind": CISource.Kind.PUSH, "name": "Push API", "is_active": False},
    )
    return source


@transaction.atomic
def deployment_push(
    *,
    actor,
    service: Service,
    external_id: str,
    environment: str,
    status: str,
    started_at: datetime | None,
    finished_at: datetime | None,
    sha: str = "",
    is_rework: bool = False,
    changes: list[dict] | None = None,
) -> tuple[Deployment, bool]:
    """Record a deployment (and the changes it brought). Returns (deployment, created)."""
    source = push_source()
    created = not Deployment.objects.filter(
        source=source, service=service, external_id=external_id
    ).exists()
    records = [
        DeploymentRecord(
            external_id=external_id,
            environment=environment,
            status=RunStatus(status),
            started_at=started_at,
            finished_at=finished_at,
            sha=sha,
            is_rework=is_rework,
        )
    ]
    records += [
        ChangeRecord(
            sha=c["sha"],
            committed_at=c["committed_at"],
            title=c.get("title", ""),
            deployment_external_id=external_id,
        )
        for c in changes or []
    ]
    records_apply(source=source, service=service, records=records)
    records_stored.send(sender=Deployment)
    deployment = Deployment.objects.select_related("environment", "service").get(
        source=source, service=service, external_id=external_id
    )
    audit_record(
        actor=actor,
        action=f"deployment.{'create' if created else 'update'}",
        instance=deployment,
        after=audit_snapshot(deployment),
    )
    return deployment, created


@transaction.atomic
def incident_push(
    *,
    actor,
    service: Service,
    external_id: str,
    title: str,
    opened_at: datetime,
    resolved_at: datetime | None = None,
    deployment: Deployment | None = None,
) -> tuple[Incident, bool]:
    incident, created = Incident.objects.update_or_create(
        source=push_source(),
        service=service,
        external_id=external_id,
        defaults={
            "title": title,
            "opened_at": opened_at,
            "resolved_at": resolved_at,
            "deployment": deployment,
        },
    )
    records_stored.send(sender=Incident)
    audit_record(
        actor=actor,
        action=f"incident.{'create' if created else 'update'}",
        instance=incident,
        after=audit_snapshot(incident),
    )
    return incident, created
