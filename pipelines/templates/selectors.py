"""Reads for pipeline templates: the latest versions, and observed vs designed.

Observed vs designed, per service assigned a template, over the last ``days`` of its runs:

- A designed stage is *present* when some job of a run in the window matches the stage's
  patterns (``stages.patterns``: its ``match``, else the kind's usual names, plus its own name
  and job id), by job name or CI stage name, case-insensitively. Its *share* is the part of the
  service's runs in the window that contain such a job.
- *Conformance* = present designed stages / designed stages (0 without runs in the window).
- A successful production deployment in the window *skipped a gate* when its pipeline run
  (``Deployment.run``) has no job matching one of the design's gate stages (tests, scans,
  approvals) that come before the deploy to that environment. A deployment without a recorded
  run proves none of them, so it skipped them all.

Adoption of a template: per team, the services assigned it and their mean conformance.

Reads are grouped, not per service: one query for the window's (service, job name, stage)
triples with the runs they occur in, one for the production deployments, one for the jobs of
the deployed runs (as ``poc.selectors.adoption`` does for the radar).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Max, Prefetch, QuerySet
from django.utils import timezone

from pipelines.models import (
    Deployment,
    JobRun,
    PipelineRun,
    PipelineTemplate,
    ServiceTemplate,
    TemplateStage,
    TemplateVersion,
)
from pipelines.templates.stages import guarding_stages, matches, patterns, spec_of
from portal.models import Service, Team

CONFORMANCE_DAYS = 30
SHOWN_JOB_NAMES = 3


# --- versions ----------------------------------------------------------------------------------


def _stages() -> Prefetch:
    return Prefetch("stages", TemplateStage.objects.select_related("environment"))


def latest_versions(template_ids) -> dict[int, TemplateVersion]:
    """Template id -> its latest version, stages (and their environments) prefetched."""
    versions = (
        TemplateVersion.objects.filter(template_id__in=template_ids)
        .order_by("template_id", "-number")
        .distinct("template_id")  # Postgres DISTINCT ON: the newest of each template
        .select_related("template", "created_by")
        .prefetch_related(_stages())
    )
    return {version.template_id: version for version in versions}


def version_get(template: PipelineTemplate, number: int | None = None) -> TemplateVersion | None:
    """The template's version ``number`` (else its latest), stages prefetched; None if none."""
    versions = template.versions.select_related("template", "created_by").prefetch_related(
        _stages()
    )
    if number is not None:
        versions = versions.filter(number=number)
    return versions.order_by("-number").first()


def template_list() -> QuerySet[PipelineTemplate]:
    """Templates with their owning team, assignment count and latest version number."""
    return PipelineTemplate.objects.select_related("owner_team").annotate(
        latest_number=Max("versions__number"),
        assigned=Count("assignments", distinct=True),
    )


def _percent(share: float) -> int:
    """0..1 as a whole percentage, halves rounded up (5 of 8 is 63%, not Python's 62%)."""
    return math.floor(share * 100 + 0.5)


# --- observed vs designed ------------------------------------------------------------------------


@dataclass
class StageStatus:
    """One designed stage as observed in a service's runs."""

    stage: TemplateStage
    patterns: list[str]
    runs: int = 0  # runs in the window with a matching job
    share: float | None = None  # runs / all the service's runs in the window
    jobs: list[str] = field(default_factory=list)  # matching job names seen (a few)

    @property
    def present(self) -> bool:
        return self.runs > 0


@dataclass
class SkippedGate:
    """A production deployment whose run lacks some of the gate stages designed before it."""

    deployment: Deployment
    skipped: list[TemplateStage]
    without_run: bool = False  # no pipeline run recorded for it: nothing is proven


@dataclass
class ServiceConformance:
    service: Service
    template: PipelineTemplate
    version: TemplateVersion
    runs: int
    stages: list[StageStatus]
    production_deployments: int = 0
    skipped: list[SkippedGate] = field(default_factory=list)

    @property
    def present(self) -> list[StageStatus]:
        return [s for s in self.stages if s.present]

    @property
    def missing(self) -> list[StageStatus]:
        return [s for s in self.stages if not s.present]

    @property
    def conformance(self) -> float:
        """Present designed stages / designed stages, from 0 to 1."""
        return len(self.present) / len(self.stages) if self.stages else 0.0

    @property
    def percent(self) -> int:
        return _percent(self.conformance)


def conformance(
    *,
    services: QuerySet[Service] | None = None,
    template: PipelineTemplate | None = None,
    team: Team | None = None,
    days: int = CONFORMANCE_DAYS,
    now: datetime | None = None,
) -> list[ServiceConformance]:
    """Observed vs designed for each assigned service among ``services`` (all by default),
    optionally only those of ``template`` or ``team``; ordered by team, then service."""
    assignments = ServiceTemplate.objects.select_related("service__team", "template")
    if services is not None:
        assignments = assignments.filter(service__in=services)
    if template is not None:
        assignments = assignments.filter(template=template)
    if team is not None:
        assignments = assignments.filter(service__team=team)
    assignments = list(assignments.order_by("service__team__name", "service__name"))
    if not assignments:
        return []
    versions = latest_versions({a.template_id for a in assignments})
    service_ids = [a.service_id for a in assignments]
    now = now or timezone.now()
    since = now - timedelta(days=days)

    # 1. How many runs each service had in the window.
    run_counts = dict(
        PipelineRun.objects.filter(
            service_id__in=service_ids, created_at__gte=since, created_at__lte=now
        )
        .order_by()
        .values_list("service_id")
        .annotate(n=Count("id"))
    )
    # 2. Each distinct (service, job name, CI stage) in the window, with the runs it ran in.
    observed: dict[int, list[tuple[str, str, set[int]]]] = defaultdict(list)
    for row in (
        JobRun.objects.filter(
            run__service_id__in=service_ids,
            run__created_at__gte=since,
            run__created_at__lte=now,
        )
        .order_by()
        .values("run__service_id", "name", "stage")
        .annotate(run_ids=ArrayAgg("run_id", distinct=True))
    ):
        observed[row["run__service_id"]].append((row["name"], row["stage"], set(row["run_ids"])))
    # 3. The window's successful production deployments, and 4. the jobs of their runs.
    deployments: dict[int, list[Deployment]] = defaultdict(list)
    for deployment in Deployment.objects.filter(
        service_id__in=service_ids,
        environment__is_production=True,
        status="success",
        finished_at__gte=since,
        finished_at__lte=now,
    ).select_related("environment"):
        deployments[deployment.service_id].append(deployment)
    run_ids = {d.run_id for ds in deployments.values() for d in ds if d.run_id}
    deployed_jobs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if run_ids:
        for run_id, name, stage in (
            JobRun.objects.filter(run_id__in=run_ids)
            .order_by()
            .values_list("run_id", "name", "stage")
            .distinct()
        ):
            deployed_jobs[run_id].append((name, stage))

    results = []
    for assignment in assignments:
        version = versions.get(assignment.template_id)
        if version is None:  # a template always has a version; a race could remove nothing
            continue
        results.append(
            _service_conformance(
                assignment,
                version,
                runs=run_counts.get(assignment.service_id, 0),
                observed=observed.get(assignment.service_id, []),
                deployments=deployments.get(assignment.service_id, []),
                deployed_jobs=deployed_jobs,
            )
        )
    return results


def _service_conformance(
    assignment: ServiceTemplate,
    version: TemplateVersion,
    *,
    runs: int,
    observed: list[tuple[str, str, set[int]]],
    deployments: list[Deployment],
    deployed_jobs: dict[int, list[tuple[str, str]]],
) -> ServiceConformance:
    stages = list(version.stages.all())
    specs = [spec_of(stage) for stage in stages]
    statuses = []
    for stage, spec in zip(stages, specs, strict=True):
        stage_patterns = patterns(spec)
        in_runs: set[int] = set()
        jobs: list[str] = []
        for name, ci_stage, run_ids in observed:
            if matches(stage_patterns, name, ci_stage):
                in_runs |= run_ids
                if name not in jobs:
                    jobs.append(name)
        statuses.append(
            StageStatus(
                stage=stage,
                patterns=stage_patterns,
                runs=len(in_runs),
                share=len(in_runs) / runs if runs else None,
                jobs=sorted(jobs)[:SHOWN_JOB_NAMES],
            )
        )
    skipped = []
    for deployment in deployments:
        guards = guarding_stages(specs, deployment.environment.slug)
        jobs = deployed_jobs.get(deployment.run_id, []) if deployment.run_id else []
        missed = [
            stages[i]
            for i in guards
            if not any(matches(patterns(specs[i]), name, stage) for name, stage in jobs)
        ]
        if missed:
            skipped.append(SkippedGate(deployment, missed, without_run=deployment.run_id is None))
    return ServiceConformance(
        service=assignment.service,
        template=assignment.template,
        version=version,
        runs=runs,
        stages=statuses,
        production_deployments=len(deployments),
        skipped=skipped,
    )


# --- adoption ----------------------------------------------------------------------------------


@dataclass
class TeamAdoption:
    """A team's services on one template."""

    team: Team
    services: list[ServiceConformance]
    team_services: int  # all the team's services (that the reader sees)

    @property
    def assigned(self) -> int:
        return len(self.services)

    @property
    def mean_conformance(self) -> float | None:
        if not self.services:
            return None
        return sum(s.conformance for s in self.services) / len(self.services)

    @property
    def mean_percent(self) -> int | None:
        mean = self.mean_conformance
        return None if mean is None else _percent(mean)


@dataclass
class TemplateAdoption:
    template: PipelineTemplate
    teams: list[TeamAdoption]

    @property
    def assigned(self) -> int:
        return sum(len(t.services) for t in self.teams)


@dataclass
class Adoption:
    templates: list[TemplateAdoption]
    unassigned: list[Service]


def adoption(
    *,
    services: QuerySet[Service] | None = None,
    template: PipelineTemplate | None = None,
    days: int = CONFORMANCE_DAYS,
    now: datetime | None = None,
) -> Adoption:
    """Each template's (or only ``template``'s) adoption per team: the services assigned and
    their mean conformance; and the services (among ``services``, default all) that follow no
    template."""
    services = Service.objects.all() if services is None else services
    results = conformance(services=services, template=template, days=days, now=now)
    team_sizes = dict(services.order_by().values_list("team_id").annotate(n=Count("id")))
    by_template: dict[int, dict[int, list[ServiceConformance]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for result in results:
        by_template[result.template.pk][result.service.team_id].append(result)
    teams = {r.service.team_id: r.service.team for r in results}
    chosen = [template] if template is not None else PipelineTemplate.objects.order_by("name")
    templates = [
        TemplateAdoption(
            template=each,
            teams=[
                TeamAdoption(teams[team_id], rows, team_sizes.get(team_id, len(rows)))
                for team_id, rows in sorted(
                    by_template[each.pk].items(), key=lambda item: teams[item[0]].name
                )
            ],
        )
        for each in chosen
    ]
    unassigned = list(
        services.filter(template_assignment__isnull=True)
        .select_related("team")
        .order_by("team__name", "name")
    )
    return Adoption(templates=templates, unassigned=unassigned)
