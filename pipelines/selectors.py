"""Reads of the pipelines app that are more than one query or shared by pages and the API."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from pipelines.models import CISource, Deployment, Incident, PipelineRun, RawEvent, SyncRun
from portal.models import Service


def source_record_counts(*, source: CISource) -> dict[str, int]:
    """How much a source has collected: raw events by status and the records from it."""
    counts = dict(
        RawEvent.objects.filter(source=source).values_list("status").annotate(n=Count("id"))
    )
    return {
        "raw_events": sum(counts.values()),
        "raw_events_failed": counts.get(RawEvent.Status.FAILED, 0),
        "pipeline_runs": PipelineRun.objects.filter(source=source).count(),
        "deployments": Deployment.objects.filter(source=source).count(),
        "incidents": Incident.objects.filter(source=source).count(),
    }


def deployment_for_incident(*, service: Service, external_id: str) -> Deployment | None:
    """The deployment an incident names: pushed ones first, then any source's."""
    candidates = Deployment.objects.filter(service=service, external_id=external_id)
    return candidates.filter(source__kind=CISource.Kind.PUSH).first() or candidates.first()


def source_list() -> QuerySet[CISource]:
    return CISource.objects.exclude(kind__in=CISource.BUILT_IN_KINDS).order_by("name")


def sync_runs_of(*, source: CISource, limit: int = 10) -> list[SyncRun]:
    return list(source.sync_runs.all()[:limit])


def source_overview() -> list[CISource]:
    """Sources with their latest sync run and record counts, for the Sources page."""
    sources = list(
        source_list().annotate(
            run_count=Count("sync_runs", distinct=True),
        )
    )
    latest = {}
    for run in (
        SyncRun.objects.filter(source__in=sources)
        .order_by("source_id", "-queued_at")
        .distinct("source_id")
    ):
        latest[run.source_id] = run
    for source in sources:
        source.latest_sync = latest.get(source.pk)
    return sources


def failed_raw_events(*, source: CISource, limit: int = 10) -> list[RawEvent]:
    return list(
        RawEvent.objects.filter(source=source, status=RawEvent.Status.FAILED).order_by("-id")[
            :limit
        ]
    )
