"""Pipeline health, as docs/metrics.md defines it. Pure functions over plain rows.

For a scope and window (the runs created in the window):

1. **Success rate**: successful runs / runs that finished as success or failure (cancelled and
   skipped runs say nothing about health and are left out).
2. **Duration p50 / p95**: ``finished_at - started_at`` of runs that finished as success or
   failure; nearest-rank percentiles (the value at rank ceil(p x n) of the sorted durations).
3. **Queue time p50**: the median of ``started_at - created_at`` of started runs.
4. **Flaky jobs**: a job name on one commit (service, sha) that failed and later, on the same
   commit, succeeded: counted once per commit and job name, on the day of the run where it
   first passed after its first failure (the failure may be any time before).
5. **Default branch red**: on each service's default branch, a red spell runs from a run that
   failed to the next run that succeeded (by ``finished_at``), among the runs created from a
   week before the window (RED_LOOKBACK). The time red inside the window is summed; spells that
   ended in the window give the recovery median.
6. **CI minutes**: the summed job durations in minutes; cost = each job's minutes x the rate of
   its runner (the first pattern in ``runner_rates`` its runner matches, else the default rate).
7. **Slowest jobs**: per job name, the median duration of its finished attempts, longest first.
"""

from __future__ import annotations

import fnmatch
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from reporting.metrics.daily import NO_VALUES, median_of
from reporting.metrics.dora import Window, median

SLOWEST_SHOWN = 10
# Red spells look back this far before a range: a spell begun up to a week earlier is measured
# from its start.
RED_LOOKBACK = timedelta(days=7)
DECIDED = {"success", "failure"}
# A decided default-branch run, for red spells: finished at (epoch seconds), id (ties), service.
MAIN_RUN = np.dtype([("at", "<f8"), ("id", "<i8"), ("service", "<i8"), ("failed", "?")])


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


def percentile(values: Sequence[float] | np.ndarray, p: float) -> float | None:
    """Nearest-rank percentile: the value at rank ceil(p x n) of the sorted values."""
    if not len(values):
        return None
    rank = max(1, math.ceil(p * len(values))) - 1
    return float(np.partition(np.asarray(values, dtype="<f8"), rank)[rank])


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def red_spells(main_runs: np.ndarray) -> list[tuple[datetime, datetime | None]]:
    """(red from, green again at or None) per service's default branch, in time order.

    ``main_runs``: the decided default-branch runs (MAIN_RUN rows, any order)."""
    spells = []
    ordered = np.sort(main_runs, order=["service", "at", "id"])
    for service in np.unique(ordered["service"]):
        red_since = None
        for at, failed in ordered[ordered["service"] == service][["at", "failed"]].tolist():
            if failed and red_since is None:
                red_since = at
            elif not failed and red_since is not None:
                spells.append((_moment(red_since), _moment(at)))
                red_since = None
        if red_since is not None:
            spells.append((_moment(red_since), None))
    return spells


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class HealthDay:
    """The runs of one service created on one UTC day, reduced to what the keys add up."""

    day: date
    decided: int = 0
    succeeded: int = 0
    durations: np.ndarray = field(default_factory=lambda: NO_VALUES)  # decided runs, seconds
    queues: np.ndarray = field(default_factory=lambda: NO_VALUES)  # started runs, seconds
    main_runs: np.ndarray = field(default_factory=lambda: np.empty(0, MAIN_RUN))
    runner_minutes: dict[str, float] = field(default_factory=dict)
    job_durations: dict[str, list[float]] = field(default_factory=dict)
    flaky: dict[str, int] = field(default_factory=dict)  # job name -> commits it passed on


def _flaky_passes(runs: Sequence[RunRow], jobs: Sequence[JobRow], now) -> dict[int, list[str]]:
    """Run id -> the job names that passed in it after failing on the same commit (once per
    service, commit and job: at the first pass after the first failure)."""
    run_by_id = {r.id: r for r in runs}
    attempts: dict[tuple[int, str, str], list[JobRow]] = defaultdict(list)
    for job in jobs:
        run = run_by_id.get(job.run_id)
        if run is not None and run.sha:
            attempts[(run.service_id, run.sha, job.name)].append(job)
    passes: dict[int, list[str]] = defaultdict(list)
    for (_service, _sha, name), rows in attempts.items():
        ordered = sorted(rows, key=lambda j: j.finished_at or j.started_at or now)
        failed_at = next((i for i, j in enumerate(ordered) if j.status == "failure"), None)
        if failed_at is None:
            continue
        passed = next((j for j in ordered[failed_at:] if j.status == "success"), None)
        if passed is not None:
            passes[passed.run_id].append(name)
    return passes


def health_days(
    runs: Sequence[RunRow], jobs: Sequence[JobRow], *, now: datetime
) -> dict[tuple[int, date], HealthDay]:
    """(service id, UTC day a run was created) -> that day's HealthDay, for every day with a
    run. ``jobs`` are the jobs of ``runs``; earlier runs on the same commits decide flakiness."""
    parts: dict[tuple[int, date], dict] = defaultdict(
        lambda: {
            "decided": 0,
            "succeeded": 0,
            "durations": [],
            "queues": [],
            "main": [],
            "runners": defaultdict(float),
            "jobs": defaultdict(list),
            "flaky": Counter(),
        }
    )
    key_of = {r.id: (r.service_id, r.created_at.astimezone(UTC).date()) for r in runs}
    for run in runs:
        part = parts[key_of[run.id]]
        if run.status in DECIDED:
            part["decided"] += 1
            part["succeeded"] += run.status == "success"
            if (seconds := _seconds(run.started_at, run.finished_at)) is not None:
                part["durations"].append(seconds)
            if run.on_default_branch and run.finished_at:
                failed = run.status == "failure"
                part["main"].append((run.finished_at.timestamp(), run.id, run.service_id, failed))
        if (seconds := _seconds(run.created_at, run.started_at)) is not None:
            part["queues"].append(seconds)
    for job in jobs:
        seconds = _seconds(job.started_at, job.finished_at)
        if job.run_id in key_of and seconds is not None:
            part = parts[key_of[job.run_id]]
            part["jobs"][job.name].append(seconds)
            part["runners"][job.runner] += seconds / 60
    for run_id, names in _flaky_passes(runs, jobs, now).items():
        parts[key_of[run_id]]["flaky"].update(names)
    return {
        key: HealthDay(
            day=key[1],
            decided=part["decided"],
            succeeded=part["succeeded"],
            durations=np.asarray(part["durations"], dtype="<f8"),
            queues=np.asarray(part["queues"], dtype="<f8"),
            main_runs=np.array(part["main"], dtype=MAIN_RUN),
            runner_minutes=dict(part["runners"]),
            job_durations=dict(part["jobs"]),
            flaky=dict(part["flaky"]),
        )
        for key, part in parts.items()
    }


def combine_health(
    days: Iterable[HealthDay],
    *,
    window: Window,
    cost_per_minute: float,
    now: datetime,
    runner_rates: dict[str, float] | None = None,
) -> HealthResult:
    """Pipeline health of the runs created in ``window`` from their days; the days of the week
    before it count for red spells only, other days not at all."""
    days = list(days)
    inside = [d for d in days if window.start <= d.day <= window.end]
    decided = sum(d.decided for d in inside)
    durations = np.concatenate([NO_VALUES, *(d.durations for d in inside)])
    queues = np.concatenate([NO_VALUES, *(d.queues for d in inside)])
    flaky: Counter = Counter()
    job_durations: dict[str, list[float]] = defaultdict(list)
    runner_minutes: dict[str, float] = defaultdict(float)
    for day in inside:
        flaky.update(day.flaky)
        for name, values in day.job_durations.items():
            job_durations[name].extend(values)
        for runner, minutes in day.runner_minutes.items():
            runner_minutes[runner] += minutes

    red_seconds, recoveries = 0.0, []
    looked_at = [d for d in days if window.start - RED_LOOKBACK <= d.day <= window.end]
    main_runs = np.concatenate([np.empty(0, MAIN_RUN), *(d.main_runs for d in looked_at)])
    for red_from, green_at in red_spells(main_runs):
        end = min(green_at or now, window.ends)
        start = max(red_from, window.begins)
        if end > start:
            red_seconds += (end - start).total_seconds()
        if green_at is not None and green_at in window:
            recoveries.append((green_at - red_from).total_seconds())

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
        key=lambda row: (-row[1], -row[2], row[0]),  # ties by name: the same on every path
    )[:SLOWEST_SHOWN]
    return HealthResult(
        success_rate=sum(d.succeeded for d in inside) / decided if decided else None,
        runs_finished=decided,
        duration_p50=percentile(durations, 0.5),
        duration_p95=percentile(durations, 0.95),
        queue_p50=median_of(queues),
        flaky_jobs=dict(sorted(flaky.items(), key=lambda item: (-item[1], item[0]))),
        red_seconds=red_seconds,
        red_recovery_median=median(recoveries),
        ci_minutes=round(sum(runner_minutes.values()), 2),
        ci_cost=round(sum(cost for _runner, _minutes, cost in by_runner), 2),
        ci_by_runner=by_runner,
        slowest_jobs=slowest,
    )


def compute_health(
    *,
    window: Window,
    runs: Sequence[RunRow],
    jobs: Sequence[JobRow],
    cost_per_minute: float,
    now: datetime,
    runner_rates: dict[str, float] | None = None,
) -> HealthResult:
    """Pipeline health of the runs created in ``window``, from the runs themselves; ``runs``
    may include the week before (red spells begun earlier) and earlier runs on the same
    commits (failures before a pass)."""
    return combine_health(
        health_days(runs, jobs, now=now).values(),
        window=window,
        cost_per_minute=cost_per_minute,
        now=now,
        runner_rates=runner_rates,
    )
