"""Automatic checks: a capability's measured metric -> the level it suggests. Pure.

A check names a metric and four thresholds, the values levels 2, 3, 4 and 5 need; the
suggested level is 1 plus the thresholds met in order (a team that misses level 3's does not
get level 4 for meeting its). Nothing measured suggests nothing.
"""

from __future__ import annotations

HIGHER, LOWER = "higher", "lower"

# metric -> (which way is better, what it is, in which unit)
METRICS: dict[str, tuple[str, str]] = {
    "deployment_frequency": (HIGHER, "production deployments per day"),
    "lead_time_hours": (LOWER, "median lead time for changes, hours"),
    "change_failure_rate": (LOWER, "change failure rate, %"),
    "recovery_hours": (LOWER, "median failed deployment recovery time, hours"),
    "pipeline_success_rate": (HIGHER, "pipeline runs that succeeded, %"),
    "red_hours_per_week": (LOWER, "hours a week the default branch was red"),
    "stage_share": (HIGHER, "runs with a job matching the pattern, %"),
}
CHECK_DAYS = 90  # checks measure the team's last 90 days


def meets(metric: str, value: float, threshold: float) -> bool:
    return value >= threshold if METRICS[metric][0] == HIGHER else value <= threshold


def suggested_level(metric: str, value: float | None, thresholds: list[float]) -> int | None:
    if value is None:
        return None
    level = 1
    for threshold in thresholds:
        if not meets(metric, value, threshold):
            break
        level += 1
    return level


def thresholds_problem(metric: str, thresholds: list[float]) -> str | None:
    """Why ``thresholds`` cannot be a check of ``metric``, or None."""
    if metric not in METRICS:
        return f"unknown metric {metric!r}; known: {', '.join(sorted(METRICS))}"
    if len(thresholds) != 4:
        return "give four thresholds: the values levels 2, 3, 4 and 5 need"
    ordered = sorted(thresholds, reverse=METRICS[metric][0] == LOWER)
    if list(thresholds) != ordered:
        better = "rise" if METRICS[metric][0] == HIGHER else "fall"
        return f"thresholds of {metric} must {better} from level 2 to level 5"
    return None
