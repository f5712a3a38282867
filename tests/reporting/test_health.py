"""Pipeline health on a small world computed by hand (no database).

Window: 2 March 2026 ([03-02 00:00, 03-03 00:00) UTC); "now" is 03-03 08:00. Service 1, runs
(created / started / finished, status, sha, on the default branch?):

    R0 03-01 20:00 / 20:01 / 20:10 failure  x main   created before: not in rates; turns main red
    R1 03-02 01:00 / 01:02 / 01:12 success  x main   green again: red 00:00-01:12 in the window
                                                       = 4,320 s; spell 20:10 -> 01:12 = 18,120 s
    R2 03-02 10:00 / 10:05 / 10:35 failure  y main   red from 10:35
    R3 03-02 12:00 / 12:00 / 12:20 success  y main   green: 10:35-12:20 = 6,300 s
    R4 03-02 22:00 / 22:10 / 22:40 failure  z main   red to the window's end: 4,800 s
    R5 03-02 15:00 / -     / -     queued      feature
    R6 03-02 16:00 / 16:01 / 16:05 cancelled w feature

    success rate: R1, R3 of R1-R4 = 0.5
    durations of R1-R4: 600, 1,800, 1,200, 1,800 -> sorted 600, 1,200, 1,800, 1,800:
        p50 rank ceil(2) = 2 -> 1,200; p95 rank ceil(3.8) = 4 -> 1,800
    queue of started runs R1-R4, R6: 120, 300, 0, 600, 60 -> median 120
    red: 4,320 + 6,300 + 4,800 = 15,420 s; recovery median of 18,120 and 6,300 = 12,210 s
    jobs: R1 build ok 01:02-01:07 (5 min); R2 tests failed 10:05-10:30 (25); R3 tests ok
    12:00-12:15 (15) -> "tests" on y failed then passed: flaky once; R4 tests failed
    22:10-22:35 (25); R0's job is outside the window. CI minutes 70; at 0.008/min: 0.56
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from reporting.metrics.dora import Window
from reporting.metrics.health import JobRow, RunRow, compute_health, percentile


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run(id_, created, started, finished, status, sha, main):
    return RunRow(
        id_, 1, status, at(created), started and at(started), finished and at(finished), sha, main
    )


RUNS = [
    run(0, "2026-03-01T20:00", "2026-03-01T20:01", "2026-03-01T20:10", "failure", "x", True),
    run(1, "2026-03-02T01:00", "2026-03-02T01:02", "2026-03-02T01:12", "success", "x", True),
    run(2, "2026-03-02T10:00", "2026-03-02T10:05", "2026-03-02T10:35", "failure", "y", True),
    run(3, "2026-03-02T12:00", "2026-03-02T12:00", "2026-03-02T12:20", "success", "y", True),
    run(4, "2026-03-02T22:00", "2026-03-02T22:10", "2026-03-02T22:40", "failure", "z", True),
    run(5, "2026-03-02T15:00", None, None, "queued", "", False),
    run(6, "2026-03-02T16:00", "2026-03-02T16:01", "2026-03-02T16:05", "cancelled", "w", False),
]
JOBS = [
    JobRow(0, "tests", "failure", at("2026-03-01T20:01"), at("2026-03-01T20:09")),
    JobRow(1, "build", "success", at("2026-03-02T01:02"), at("2026-03-02T01:07")),
    JobRow(2, "tests", "failure", at("2026-03-02T10:05"), at("2026-03-02T10:30")),
    JobRow(3, "tests", "success", at("2026-03-02T12:00"), at("2026-03-02T12:15")),
    JobRow(4, "tests", "failure", at("2026-03-02T22:10"), at("2026-03-02T22:35")),
]


def test_pipeline_health_agrees_with_the_hand_computed_world():
    result = compute_health(
        window=Window(date(2026, 3, 2), date(2026, 3, 2)),
        runs=RUNS,
        jobs=JOBS,
        cost_per_minute=0.008,
        now=at("2026-03-03T08:00"),
    )

    assert (result.success_rate, result.runs_finished) == (0.5, 4)
    assert (result.duration_p50, result.duration_p95) == (1_200, 1_800)
    assert result.queue_p50 == 120
    assert result.flaky_jobs == {"tests": 1}
    assert result.red_seconds == 15_420
    assert result.red_recovery_median == 12_210
    assert (result.ci_minutes, result.ci_cost) == (70, 0.56)
    # tests: 25, 15, 25 min -> median 25 min (1,500 s), 3 attempts; build: 5 min once
    assert result.slowest_jobs == [("tests", 1_500, 3), ("build", 300, 1)]


def test_an_empty_window_measures_nothing():
    result = compute_health(
        window=Window(date(2020, 1, 1), date(2020, 1, 1)),
        runs=RUNS,
        jobs=JOBS,
        cost_per_minute=0.008,
        now=at("2026-03-03T08:00"),
    )

    assert (result.success_rate, result.duration_p50, result.queue_p50) == (None, None, None)
    assert (result.red_seconds, result.ci_minutes, result.flaky_jobs) == (0, 0, {})


def test_nearest_rank_percentiles():
    assert percentile([], 0.5) is None
    assert percentile([5], 0.95) == 5
    assert percentile(list(range(1, 21)), 0.95) == 19  # rank ceil(19) of 20
    assert percentile(list(range(1, 21)), 0.5) == 10


def test_ci_cost_by_runner_uses_the_first_matching_rate():
    """The same jobs on runners: build (5 min) on ubuntu-latest, the 25-min tests on macos-14
    twice, the 15-min tests where the CI system named no runner. Rates: macos-* 0.08,
    ubuntu-* 0.008, anything else 0.01 (the default):
    macos-14 50 min x 0.08 = 4.00; "" 15 min x 0.01 = 0.15; ubuntu-latest 5 x 0.008 = 0.04;
    total 4.19 for 70 minutes."""
    runners = {1: "ubuntu-latest", 2: "macos-14", 3: "", 4: "macos-14"}
    jobs = [
        JobRow(j.run_id, j.name, j.status, j.started_at, j.finished_at, runners.get(j.run_id, ""))
        for j in JOBS
    ]

    result = compute_health(
        window=Window(date(2026, 3, 2), date(2026, 3, 2)),
        runs=RUNS,
        jobs=jobs,
        cost_per_minute=0.01,
        runner_rates={"MacOS-*": 0.08, "ubuntu-*": 0.008, "macos-14": 99.0},
        now=at("2026-03-03T08:00"),
    )

    assert result.ci_by_runner == [
        ("macos-14", 50, 4.0),
        ("", 15, 0.15),
        ("ubuntu-latest", 5, 0.04),
    ]
    assert (result.ci_minutes, result.ci_cost) == (70, 4.19)
