"""Pipeline health, as docs/metrics.md defines it. Pure functions over plain rows.

For a scope and window (the runs created in the window):

1. **Success rate**: successful runs / runs that finished as success or failure (cancelled and
   skipped runs say nothing about health and are left out).
2. **Duration p50 / p95**: ``finished_at - started_at`` of runs that finished as success or
   failure; nearest-rank percentiles (the value at rank ceil(p x n) of the sorted durations).
3. **Queue time p50**: the median of ``started_at - created_at`` of started runs.
4. **Flaky jobs**: a job name on one commit (service, sha) that failed and later, on the same
   commit, succeeded; counted per job name.
5. **Default branch red**: on each service's default branch, a red spell runs from a run that
   failed to the next run that succeeded (by ``finished_at``). The time red inside the window is
   summed; spells that ended in the window give the recovery median.
6. **CI minutes**: the summed job durations in minutes; cost = each job's minutes x the rate of
   its runner (the first pattern in ``runner_rates`` its runner matches, else the default rate).
7. **Slowest jobs**: per job name, the median duration of its finished attempts, longest first.
"""

from __future__ import annotations

import fnmatch
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reporting.metrics.dora import Window, median

SLOWEST_SHOWN = 10


@dataclass(frozen=True)
class RunRow:
    id: int
    service_id: int
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    sha: str = ""
    on_default_branch: bool = False


@dataclass(frozen=True)
class JobRow:
    run_id: int
    name: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    runner: str = ""  # the runner label or kind the job ran on, "" when the CI system did not say


@dataclass
class HealthResult:
    success_rate: float | None
    runs_finished: int
    duration_p50: float | None
    duration_p95: float | None
    queue_p50: float | None
    flaky_jobs: dict[str, int]
    red_seconds: float
    red_recovery_median: float | None
    ci_minutes: float
    ci_cost: float
    ci_by_runner: list[tuple[str, float, float]]  # (runner, minutes, cost), costliest first
    slowest_jobs: list[tuple[str, float, int]]  # (job name, median seconds, attempts)


def rate_for(runner: str, rates: dict[str, float] | None, default: float) -> float:
    """The per-minute rate of ``runner``: the first pattern (shell-style, case-insensitive) of
    ``rates`` it matches, else ``default``."""
    for pattern, rate in (rates or {}).items():
        if fnmatch.fnmatchcase(runner.casefold(), pattern.casefold()):
            return rate
    return default


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the value at rank ceil(p x n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(p * len(ordered))) - 1])


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def red_spells(runs: Sequence[RunRow]) -> list[tuple[datetime, datetime | None]]:
    """(red from, green again at or None) per service's default branch, in time order."""
    spells = []
    by_service: dict[int, list[RunRow]] = defaultdict(list)
    for run in runs:
        if run.on_default_branch and run.finished_at and run.status in {"success", "failure"}:
            by_service[run.service_id].append(run)
    for rows in by_service.values():
        red_since = None
        for run in sorted(rows, key=lambda r: (r.finished_at, r.id)):
            if run.status == "failure" and red_since is None:
                red_since = run.finished_at
            elif run.status == "success" and red_since is not None:
                spells.append((red_since, run.finished_at))
                red_since = None
        if red_since is not None:
            spells.append((red_since, None))
    return spells


def compute_health(
    *,
    window: Window,
    runs: Sequence[RunRow],
    jobs: Sequence[JobRow],
    cost_per_minute: float,
    now: datetime,
    runner_rates: dict[str, float] | None = None,
) -> HealthResult:
    """Pipeline health of the runs created in ``window``; ``runs`` may include earlier
    default-branch runs (a red spell that began before the window)."""
    in_window = [r for r in runs if r.created_at in window]
    decided = [r for r in in_window if r.status in {"success", "failure"}]
    successes = sum(1 for r in decided if r.status == "success")
    durations = [d for r in decided if (d := _seconds(r.started_at, r.finished_at)) is not None]
    queues = [q for r in in_window if (q := _seconds(r.created_at, r.started_at)) is not None]

    run_by_id = {r.id: r for r in in_window}
    window_jobs = [j for j in jobs if j.run_id in run_by_id]
    flaky: Counter = Counter()
    attempts: dict[tuple[int, str, str], list[JobRow]] = defaultdict(list)
    for job in window_jobs:
        run = run_by_id[job.run_id]
        if run.sha:
            attempts[(run.service_id, run.sha, job.name)].append(job)
    for (_service, _sha, name), rows in attempts.items():
        ordered = sorted(rows, key=lambda j: j.finished_at or j.started_at or now)
        failed_at = next((i for i, j in enumerate(ordered) if j.status == "failure"), None)
        if failed_at is not None and any(j.status == "success" for j in ordered[failed_at:]):
            flaky[name] += 1

    red_seconds, recoveries = 0.0, []
    for red_from, green_at in red_spells(runs):
        end = min(green_at or now, window.ends)
        start = max(red_from, window.begins)
        if end > start:
            red_seconds += (end - start).total_seconds()
        if green_at is not None and green_at in window:
            recoveries.append((green_at - red_from).total_seconds())

    job_durations: dict[str, list[float]] = defaultdict(list)
    runner_minutes: dict[str, float] = defaultdict(float)
    for job in window_jobs:
        if (seconds := _seconds(job.started_at, job.finished_at)) is not None:
            job_durations[job.name].append(seconds)
            runner_minutes[job.runner] += seconds / 60
    minutes = sum(runner_minutes.values())
    by_runner = sorted(
        (
            (
                runner,
                round(spent, 2),
                round(spent * rate_for(runner, runner_rates, cost_per_minute), 2),
            )
            for runner, spent in runner_minutes.items()
        ),
        key=lambda row: (-row[2], -row[1], row[0]),
    )
    slowest = sorted(
        ((name, median(values), len(values)) for name, values in job_durations.items()),
        key=lambda row: -row[1],
    )[:SLOWEST_SHOWN]
    return HealthResult(
        success_rate=successes / len(decided) if decided else None,
        runs_finished=len(decided),
        duration_p50=percentile(durations, 0.5),
        duration_p95=percentile(durations, 0.95),
        queue_p50=median(queues),
        flaky_jobs=dict(flaky.most_common()),
        red_seconds=red_seconds,
        red_recovery_median=median(recoveries),
        ci_minutes=round(minutes, 2),
        ci_cost=round(sum(cost for _runner, _minutes, cost in by_runner), 2),
        ci_by_runner=by_runner,
        slowest_jobs=slowest,
    )
