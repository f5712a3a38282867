"""Reads for POC reviews and the radar: visibility, score summaries, the timeline, competing
POCs, and adoption of radar tools measured from the pipeline data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from pipelines.models import JobRun
from poc.models import Poc
from poc.scoring import Summary, summarise
from portal.access import visible_teams
from portal.models import AuditEvent, Service

ADOPTION_DAYS = 90


def visible_pocs(user) -> QuerySet[Poc]:
    """POCs of the teams the user sees (leads and stakeholders: all)."""
    return Poc.objects.filter(team__in=visible_teams(user))


def score_summary(poc: Poc) -> Summary:
    criteria = [(c.key, c.name, c.weight) for c in poc.criteria.all()]
    scores = [
        (e.evaluator.username, s.criterion.key, s.score, s.note)
        for e in poc.evaluations.select_related("evaluator").prefetch_related("scores__criterion")
        for s in e.scores.all()
    ]
    return summarise(criteria, scores)


def timeline(poc: Poc) -> QuerySet[AuditEvent]:
    """Every step of the POC from the audit log, oldest first."""
    return (
        AuditEvent.objects.filter(object_type="poc.poc", object_id=str(poc.pk))
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def competing(poc: Poc, user) -> list[tuple[Poc, Summary]]:
    """The POCs (the user may see) for the same problem, this one first."""
    if not poc.problem_key:
        return []
    others = visible_pocs(user).filter(problem_key=poc.problem_key).exclude(pk=poc.pk)
    return [(p, score_summary(p)) for p in [poc, *others.prefetch_related("criteria")]]


@dataclass(frozen=True)
class Usage:
    service: Service
    jobs: int
    last_seen: datetime


def adoption(
    entries, *, days: int = ADOPTION_DAYS, now: datetime | None = None
) -> dict[int, list[Usage]]:
    """Entry id -> the services whose jobs (by job or stage name) matched its adoption pattern
    in the last ``days``. One grouped read of the recent job names, matched here: a service
    has tens of distinct job names, so this stays cheap however many jobs ran."""
    patterns = {e.pk: e.adoption_pattern.lower() for e in entries if e.adoption_pattern}
    if not patterns:
        return {}
    since = (now or timezone.now()) - timedelta(days=days)
    names = (
        JobRun.objects.filter(run__created_at__gte=since)
        .values("run__service_id", "name", "stage")
        .annotate(jobs=Count("id"), last_seen=Max("run__created_at"))
    )
    found: dict[int, dict[int, list]] = defaultdict(dict)
    for row in names:
        for entry_id, pattern in patterns.items():
            if fnmatchcase(row["name"].lower(), pattern) or fnmatchcase(
                row["stage"].lower(), pattern
            ):
                jobs, last = found[entry_id].get(row["run__service_id"], (0, row["last_seen"]))
                found[entry_id][row["run__service_id"]] = (
                    jobs + row["jobs"],
                    max(last, row["last_seen"]),
                )
    services = Service.objects.select_related("team").in_bulk(
        {sid for hits in found.values() for sid in hits}
    )
    return {
        entry_id: sorted(
            (Usage(services[sid], jobs, last) for sid, (jobs, last) in hits.items()),
            key=lambda usage: (usage.service.team.name, usage.service.name),
        )
        for entry_id, hits in found.items()
    }
