"""The five DORA keys, exactly as docs/metrics.md defines them. Pure functions over plain rows.

Scope and range: the caller passes the rows of one scope (a service, a team's services, the
organisation). ``start`` and ``end`` are inclusive UTC days: the window is
``[start 00:00 UTC, end + 1 day 00:00 UTC)``.

1. **Counted deployments**: successful deployments to a production environment whose
   ``finished_at`` is in the window.
2. **Deployment frequency**: their count, and count / days in the window.
3. **Lead time for changes**: each change (service, sha) is taken at its *first* successful
   production deployment (by ``finished_at``, then id); a change whose first deployment is
   counted contributes ``finished_at - committed_at``; the median.
4. **Incident attribution**: the incident's explicit deployment when given; otherwise the latest
   successful production deployment of the same service that finished at or before the incident
   opened; otherwise none.
5. **Change failure rate**: counted deployments with at least one attributed incident / counted.
6. **Failed deployment recovery time**: each resolved incident attributed to a counted deployment
   contributes ``resolved_at - deployment.finished_at``; the median.
7. **Deployment rework rate**: counted deployments marked rework, or finishing while an incident
   of the same service is open (opened at or before, not resolved by then), / counted.

Medians of an even count are the mean of the two middle values. Nothing to measure gives None,
never a division by zero.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class DeploymentRow:
    id: int
    service_id: int
    finished_at: datetime | None
    is_production: bool
    succeeded: bool
    is_rework: bool = False

    @property
    def is_successful_production(self) -> bool:
        return self.succeeded and self.is_production and self.finished_at is not None


@dataclass(frozen=True)
class ChangeRow:
    service_id: int
    sha: str
    committed_at: datetime
    deployment_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class IncidentRow:
    id: int
    service_id: int
    opened_at: datetime
    resolved_at: datetime | None = None
    deployment_id: int | None = None  # explicit attribution, when the source gave one


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def begins(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def ends(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.begins <= moment < self.ends


@dataclass
class DoraResult:
    counted: list[DeploymentRow]
    days: int
    lead_times: list[float]  # seconds, one per change whose first deployment is counted
    attributed: dict[int, list[IncidentRow]]  # counted deployment id -> incidents
    recovery_times: list[float]
    rework: list[DeploymentRow]
    # counted deployment id -> the changes it brought first, with their lead time in seconds
    first_changes: dict[int, list[tuple[ChangeRow, float]]] = field(default_factory=dict)
    # counted deployment id -> the open incidents that made it rework
    open_incidents: dict[int, list[IncidentRow]] = field(default_factory=dict)

    @property
    def deployment_count(self) -> int:
        return len(self.counted)

    @property
    def per_day(self) -> float:
        return self.deployment_count / self.days

    @property
    def lead_time_median(self) -> float | None:
        return median(self.lead_times)

    @property
    def failed_count(self) -> int:
        return sum(1 for d in self.counted if self.attributed.get(d.id))

    @property
    def change_failure_rate(self) -> float | None:
        return ratio(self.failed_count, self.deployment_count)

    @property
    def recovery_median(self) -> float | None:
        return median(self.recovery_times)

    @property
    def rework_rate(self) -> float | None:
        return ratio(len(self.rework), self.deployment_count)


def median(values: Sequence[float]) -> float | None:
    """Median; for an even count the mean of the two middle values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _first_deployment_of_each_change(
    changes: Iterable[ChangeRow], deployments: dict[int, DeploymentRow]
) -> list[tuple[ChangeRow, DeploymentRow]]:
    """Each change with its first successful production deployment (finished_at, then id).

    A change deployed again later (a redeploy, a rollback and forward) counts once, at its
    first deployment; a change never deployed successfully to production counts nowhere.
    """
    firsts = []
    for change in changes:
        candidates = [
            deployments[d]
            for d in change.deployment_ids
            if d in deployments and deployments[d].is_successful_production
        ]
        if candidates:
            firsts.append((change, min(candidates, key=lambda d: (d.finished_at, d.id))))
    return firsts


def attribute_incidents(
    incidents: Iterable[IncidentRow], deployments: Iterable[DeploymentRow]
) -> dict[int, list[IncidentRow]]:
    """Deployment id -> the incidents attributed to it (rule 4)."""
    by_service: dict[int, list[DeploymentRow]] = defaultdict(list)
    for deployment in deployments:
        if deployment.is_successful_production:
            by_service[deployment.service_id].append(deployment)
    for rows in by_service.values():
        rows.sort(key=lambda d: (d.finished_at, d.id))
    finished = {service: [d.finished_at for d in rows] for service, rows in by_service.items()}

    attributed: dict[int, list[IncidentRow]] = defaultdict(list)
    for incident in incidents:
        if incident.deployment_id is not None:
            attributed[incident.deployment_id].append(incident)
            continue
        rows = by_service.get(incident.service_id, [])
        index = bisect_right(finished.get(incident.service_id, []), incident.opened_at)
        if index:  # the latest one finished at or before the incident opened
            attributed[rows[index - 1].id].append(incident)
    return attributed


def compute(
    *,
    window: Window,
    deployments: Sequence[DeploymentRow],
    changes: Sequence[ChangeRow],
    incidents: Sequence[IncidentRow],
) -> DoraResult:
    """All five keys for one scope and window.

    ``deployments`` must hold every deployment of the scope that can matter: all successful
    production ones finished before the window ends (earlier ones decide first deployments and
    attribution) and the counted ones. ``changes`` those linked to them; ``incidents`` those
    that may be attributed to counted deployments or be open during the window.
    """
    by_id = {d.id: d for d in deployments}
    counted = sorted(
        (d for d in deployments if d.is_successful_production and d.finished_at in window),
        key=lambda d: (d.finished_at, d.id),
    )
    counted_ids = {d.id for d in counted}

    first_changes: dict[int, list[tuple[ChangeRow, float]]] = defaultdict(list)
    for change, deployment in _first_deployment_of_each_change(changes, by_id):
        if deployment.id in counted_ids:
            lead = (deployment.finished_at - change.committed_at).total_seconds()
            first_changes[deployment.id].append((change, lead))
    lead_times = [lead for rows in first_changes.values() for _change, lead in rows]

    all_attributed = attribute_incidents(incidents, deployments)
    attributed = {d: rows for d, rows in all_attributed.items() if d in counted_ids}
    recovery_times = [
        (incident.resolved_at - by_id[d].finished_at).total_seconds()
        for d, rows in attributed.items()
        for incident in rows
        if incident.resolved_at is not None
    ]

    open_by_service: dict[int, list[IncidentRow]] = defaultdict(list)
    for incident in incidents:
        open_by_service[incident.service_id].append(incident)
    open_incidents = {
        d.id: [
            i
            for i in open_by_service.get(d.service_id, ())
            if i.opened_at <= d.finished_at
            and (i.resolved_at is None or i.resolved_at > d.finished_at)
        ]
        for d in counted
    }
    rework = [d for d in counted if d.is_rework or open_incidents[d.id]]
    return DoraResult(
        counted=counted,
        days=window.days,
        lead_times=lead_times,
        attributed=attributed,
        recovery_times=recovery_times,
        rework=rework,
        first_changes=dict(first_changes),
        open_incidents={d: rows for d, rows in open_incidents.items() if rows},
    )
