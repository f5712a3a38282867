"""Environments at a glance: what each service runs in each environment now, what waits to be
promoted to production, and when production last changed (docs/change-requests.md).

Definitions, per service:

1. **Deployed now** in an environment: the service's latest successful deployment there (by
   ``finished_at``, then id). Its sha, ref, finish time and "by": the pipeline run's name when
   the deployment came from a run, else its source's name (the records carry no person).
2. **Production last changed**: the latest successful deployment to any production environment.
3. **Pre-production environment**: of the non-production environments the service has a
   successful deployment in, placed before the first production environment (by position,
   then name), the last one. None when there is none (changes waiting is then 0).
4. **Changes waiting**: the distinct changes (``Deployment.changes``) of the service's
   successful deployments to its pre-production environment that finished after its latest
   production deployment (all of them, if it never reached production), and that no successful
   production deployment has carried yet. **Waiting since**: the earliest finish among those
   pre-production deployments that carry a waiting change.

Three queries whatever the number of services: the environments, the latest deployment per
service and environment (``DISTINCT ON``), and the waiting changes grouped by service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from pipelines.connectors.base import RunStatus
from pipelines.models import Deployment
from portal.models import Environment, Service

ChangesThrough = Deployment.changes.through


@dataclass(frozen=True)
class Deployed:
    """What runs in one environment now."""

    environment: Environment
    deployment: Deployment
    now: datetime

    @property
    def sha(self) -> str:
        return self.deployment.sha

    @property
    def ref(self) -> str:
        return self.deployment.ref

    @property
    def finished_at(self) -> datetime:
        return self.deployment.finished_at

    @property
    def by(self) -> str:
        """The run that deployed it, else the source: the records name no person."""
        run = self.deployment.run
        return run.name if run is not None else self.deployment.source.name

    @property
    def url(self) -> str:
        run = self.deployment.run
        return self.deployment.url or (run.url if run is not None else "")

    @property
    def age_seconds(self) -> int:
        return max(0, int((self.now - self.finished_at).total_seconds()))


@dataclass(frozen=True)
class EnvironmentState:
    environment: Environment
    deployed: Deployed | None  # None: never deployed there successfully


@dataclass(frozen=True)
class ServicePromotion:
    service: Service
    cells: list[EnvironmentState]  # one per environment, in the overview's order
    production: Deployed | None  # production's latest change, any production environment
    pre_production: Environment | None
    changes_waiting: int
    waiting_since: datetime | None


@dataclass(frozen=True)
class Promotion:
    environments: list[Environment]
    services: list[ServicePromotion]
    now: datetime


def _successful() -> QuerySet[Deployment]:
    return Deployment.objects.filter(status=RunStatus.SUCCESS, finished_at__isnull=False)


def _pre_production(
    environments: list[Environment], cells: dict[int, Deployed]
) -> Environment | None:
    first_production = next(
        (i for i, e in enumerate(environments) if e.is_production), len(environments)
    )
    before = [e for e in environments[:first_production] if e.pk in cells]
    return before[-1] if before else None


def promotion_overview(*, services: QuerySet[Service], now: datetime | None = None) -> Promotion:
    """Each of ``services`` (by name) in every environment (by position, then name)."""
    now = now or timezone.now()
    environments = list(Environment.objects.order_by("position", "name"))
    services = list(services.select_related("team").order_by("name"))
    ids = [s.pk for s in services]
    latest = (
        _successful()
        .filter(service_id__in=ids)
        .select_related("run", "source")
        .order_by("service_id", "environment_id", "-finished_at", "-id")
        .distinct("service_id", "environment_id")
    )
    by_environment = {e.pk: e for e in environments}
    cells: dict[int, dict[int, Deployed]] = {}
    for deployment in latest:
        environment = by_environment[deployment.environment_id]
        cells.setdefault(deployment.service_id, {})[environment.pk] = Deployed(
            environment, deployment, now
        )

    productions, pre_productions, pending = {}, {}, None
    for service in services:
        mine = cells.get(service.pk, {})
        shipped = [mine[e.pk] for e in environments if e.is_production and e.pk in mine]
        productions[service.pk] = max(
            shipped, key=lambda d: (d.finished_at, d.deployment.pk), default=None
        )
        pre_productions[service.pk] = _pre_production(environments, mine)
        if pre_productions[service.pk] is not None:
            since = Q()
            if productions[service.pk] is not None:
                since = Q(finished_at__gt=productions[service.pk].finished_at)
            mine = Q(service_id=service.pk, environment=pre_productions[service.pk]) & since
            pending = mine if pending is None else pending | mine

    waiting = _waiting(pending, ids) if pending is not None else {}
    return Promotion(
        environments=environments,
        services=[
            ServicePromotion(
                service=service,
                cells=[
                    EnvironmentState(e, cells.get(service.pk, {}).get(e.pk)) for e in environments
                ],
                production=productions[service.pk],
                pre_production=pre_productions[service.pk],
                changes_waiting=waiting.get(service.pk, {}).get("waiting", 0),
                waiting_since=waiting.get(service.pk, {}).get("since"),
            )
            for service in services
        ],
        now=now,
    )


def _waiting(pending: Q, service_ids: list[int]) -> dict[int, dict]:
    """Per service id: ``waiting`` (changes) and ``since``, from the pending deployments."""
    in_production = ChangesThrough.objects.filter(
        deployment__in=_successful().filter(
            service_id__in=service_ids, environment__is_production=True
        )
    ).values("change_id")
    return {
        row["deployment__service_id"]: row
        for row in ChangesThrough.objects.filter(deployment__in=_successful().filter(pending))
        .exclude(change_id__in=in_production)
        .values("deployment__service_id")
        .annotate(waiting=Count("change_id", distinct=True), since=Min("deployment__finished_at"))
        .order_by()
    }


def service_promotion(*, service: Service, now: datetime | None = None) -> Promotion:
    """The overview of one service."""
    return promotion_overview(services=Service.objects.filter(pk=service.pk), now=now)
