"""The DORA definitions on a small world computed by hand (no database).

Window: 1-2 March 2026, so [2026-03-01 00:00 UTC, 2026-03-03 00:00 UTC), 2 days. Service 1:

    D1 prod  success  2026-02-28 12:00     before the window: not counted
    D2 prod  success  2026-03-01 10:00     counted
    D3 prod  failure  2026-03-01 12:00     failed: not counted
    D4 stag  success  2026-03-01 13:00     not production: not counted
    D5 prod  success  2026-03-03 00:30+01:00 = 2026-03-02 23:30 UTC: counted (offset!)
    D6 prod  success  2026-03-03 00:00     end boundary is exclusive: not counted

    C1 a  committed 03-01 04:00 in D2               -> first D2: 6 h   = 21,600 s
    C2 b  committed 02-27 12:00 in D1, D2 (redeploy) -> first D1, not counted: excluded
    C3 c  committed 03-01 11:30 in D3 (failed), D5   -> first successful prod D5: 36 h = 129,600 s
    C4 d  committed 03-01 00:00 in D5               -> 47 h 30 = 171,000 s
    lead times [21,600, 129,600, 171,000] -> median 129,600 s (36 h)

    I1 opened 03-01 11:00, resolved 11:30, no explicit -> latest successful prod at or before
       11:00 is D2 (10:00; D3 failed) -> D2; recovery 11:30 - 10:00 = 5,400 s
    I2 opened 03-02 23:30 (exactly when D5 finished), open -> D5 ("at or before"); no recovery
    I3 opened 03-01 09:00, explicitly D1, resolved 03-01 10:00 -> D1 (not counted)
    I4 opened 02-28 11:00, resolved 02-28 13:00, no explicit -> nothing finished before: none

    change failure rate: D2 (I1) and D5 (I2) of 2 -> 1.0; recovery median 5,400 s
    rework: D2 at 10:00 - I3 resolved exactly then, so not open -> no; D5 at 23:30 - I2 opened
    at 23:30 and open -> yes: 1 of 2 -> 0.5
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from reporting.metrics.dora import (
    ChangeRow,
    DeploymentRow,
    IncidentRow,
    Window,
    attribute_incidents,
    compute,
    median,
)
from reporting.metrics.tiers import Tier, tier_for


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


WINDOW = Window(date(2026, 3, 1), date(2026, 3, 2))
PLUS_ONE = timezone(timedelta(hours=1))
D1 = DeploymentRow(1, 1, at("2026-02-28T12:00"), True, True)
D2 = DeploymentRow(2, 1, at("2026-03-01T10:00"), True, True)
D3 = DeploymentRow(3, 1, at("2026-03-01T12:00"), True, False)
D4 = DeploymentRow(4, 1, at("2026-03-01T13:00"), False, True)
D5 = DeploymentRow(5, 1, datetime(2026, 3, 3, 0, 30, tzinfo=PLUS_ONE), True, True)
D6 = DeploymentRow(6, 1, at("2026-03-03T00:00"), True, True)
DEPLOYMENTS = [D1, D2, D3, D4, D5, D6]
CHANGES = [
    ChangeRow(1, "a", at("2026-03-01T04:00"), (2,)),
    ChangeRow(1, "b", at("2026-02-27T12:00"), (1, 2)),
    ChangeRow(1, "c", at("2026-03-01T11:30"), (3, 5)),
    ChangeRow(1, "d", at("2026-03-01T00:00"), (5,)),
]
I1 = IncidentRow(1, 1, at("2026-03-01T11:00"), at("2026-03-01T11:30"))
I2 = IncidentRow(2, 1, at("2026-03-02T23:30"))
I3 = IncidentRow(3, 1, at("2026-03-01T09:00"), at("2026-03-01T10:00"), deployment_id=1)
I4 = IncidentRow(4, 1, at("2026-02-28T11:00"), at("2026-02-28T13:00"))
INCIDENTS = [I1, I2, I3, I4]


@pytest.fixture
def result():
    return compute(window=WINDOW, deployments=DEPLOYMENTS, changes=CHANGES, incidents=INCIDENTS)


def test_counted_deployments_respect_the_utc_window_and_offsets(result):
    assert [d.id for d in result.counted] == [2, 5]
    assert (result.deployment_count, result.per_day) == (2, 1.0)


def test_lead_time_takes_each_change_at_its_first_successful_production_deployment(result):
    assert sorted(result.lead_times) == [21_600, 129_600, 171_000]
    assert result.lead_time_median == 129_600


def test_incidents_are_attributed_explicitly_or_by_time(result):
    attributed = attribute_incidents(INCIDENTS, DEPLOYMENTS)

    assert {d: [i.id for i in rows] for d, rows in attributed.items()} == {1: [3], 2: [1], 5: [2]}


def test_change_failure_rate_and_recovery(result):
    assert (result.failed_count, result.change_failure_rate) == (2, 1.0)
    assert result.recovery_times == [5_400]
    assert result.recovery_median == 5_400


def test_rework_counts_marked_deployments_and_those_during_an_open_incident(result):
    assert [d.id for d in result.rework] == [5]
    assert result.rework_rate == 0.5


def test_a_deployment_marked_rework_counts_even_with_no_incident():
    marked = DeploymentRow(7, 1, at("2026-03-01T15:00"), True, True, is_rework=True)

    result = compute(window=WINDOW, deployments=[marked], changes=[], incidents=[])

    assert result.rework_rate == 1.0


def test_nothing_to_measure_gives_none_not_a_division_by_zero():
    result = compute(window=WINDOW, deployments=[D1, D3], changes=CHANGES, incidents=INCIDENTS)

    assert (result.deployment_count, result.per_day) == (0, 0.0)
    assert result.lead_time_median is None
    assert result.change_failure_rate is None
    assert result.recovery_median is None
    assert result.rework_rate is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([5], 5.0), ([3, 1, 2], 2.0), ([7, 1, 5, 3], 4.0), ([1, 2], 1.5)],
)
def test_median_of_an_even_count_is_the_mean_of_the_middle_two(values, expected):
    assert median(values) == expected


@pytest.mark.parametrize(
    ("key", "value", "report", "expected"),
    [
        ("deployment_frequency", 3.0, "2024", Tier.ELITE),
        ("deployment_frequency", 1.0, "2024", Tier.ELITE),
        ("deployment_frequency", 0.5, "2024", Tier.HIGH),
        ("deployment_frequency", 1 / 7, "2024", Tier.HIGH),
        ("deployment_frequency", 0.1, "2024", Tier.MEDIUM),
        ("deployment_frequency", 1 / 60, "2024", Tier.LOW),
        ("lead_time_for_changes", 3_600, "2024", Tier.ELITE),
        ("lead_time_for_changes", 86_400, "2024", Tier.HIGH),  # "less than one day": not 1 day
        ("lead_time_for_changes", 10 * 86_400, "2024", Tier.MEDIUM),
        ("lead_time_for_changes", 60 * 86_400, "2024", Tier.LOW),
        ("change_failure_rate", 0.05, "2024", Tier.ELITE),
        ("change_failure_rate", 0.08, "2024", Tier.HIGH),  # 2024's clusters: high 20 %
        ("change_failure_rate", 0.08, "2023", Tier.HIGH),  # 2023's: high 10 %
        ("change_failure_rate", 0.12, "2023", Tier.MEDIUM),
        ("change_failure_rate", 0.30, "2024", Tier.LOW),
        ("change_failure_rate", 1.0, "2024", Tier.LOW),
        ("failed_deployment_recovery_time", 1_800, "2024", Tier.ELITE),
        ("failed_deployment_recovery_time", 5_400, "2024", Tier.HIGH),
        ("failed_deployment_recovery_time", 3 * 86_400, "2024", Tier.LOW),
        ("failed_deployment_recovery_time", 3 * 86_400, "2023", Tier.MEDIUM),
        ("change_failure_rate", None, "2024", None),
    ],
)
def test_tiers_follow_the_report_tables(key, value, report, expected):
    assert tier_for(key, value, report=report) == expected
