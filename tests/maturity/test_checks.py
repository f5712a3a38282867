"""Automatic checks: the level a measured value suggests, computed by hand."""

from __future__ import annotations

import pytest

from maturity.checks import suggested_level, thresholds_problem

DEPLOYS = [0.033, 0.143, 1, 3]  # per day: monthly, weekly, daily, three a day
LEAD_HOURS = [720, 168, 24, 2]


@pytest.mark.parametrize(
    "value, level",
    [(0.01, 1), (0.033, 2), (0.5, 3), (1.0, 4), (2.99, 4), (3, 5), (40, 5)],
)
def test_higher_is_better_counts_the_thresholds_met(value, level):
    assert suggested_level("deployment_frequency", value, DEPLOYS) == level


@pytest.mark.parametrize("value, level", [(1000, 1), (720, 2), (100, 3), (24, 4), (1.5, 5)])
def test_lower_is_better_counts_the_thresholds_met(value, level):
    assert suggested_level("lead_time_hours", value, LEAD_HOURS) == level


def test_nothing_measured_suggests_nothing():
    assert suggested_level("lead_time_hours", None, LEAD_HOURS) is None


def test_thresholds_must_run_the_right_way_and_be_four():
    assert thresholds_problem("deployment_frequency", DEPLOYS) is None
    assert "must rise" in thresholds_problem("deployment_frequency", list(reversed(DEPLOYS)))
    assert "must fall" in thresholds_problem("lead_time_hours", [2, 24, 168, 720])
    assert "four thresholds" in thresholds_problem("lead_time_hours", [720, 168])
    assert "unknown metric" in thresholds_problem("happiness", DEPLOYS)
