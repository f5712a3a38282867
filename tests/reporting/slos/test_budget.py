"""Error budgets, burn rates and the workbook's alert rules, on cases computed by hand (no
database). Each case says how its numbers were worked out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reporting.slos import budget

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAYS_28 = timedelta(days=28)
DAYS_30 = timedelta(days=30)
MIN = timedelta(minutes=1)


def test_it_computes_budget_and_burn_rate_of_a_99_9_percent_objective():
    # 99.9 % over 28 days: the budget is 0.1 % of 40,320 minutes = 40.32 minutes. 20 minutes
    # down is a bad fraction of 20 / 40,320; burn rate = that / 0.001 = 0.496..., budget left
    # 1 - 0.496 = 0.504 (half the budget spent, about 20 of 40.32 minutes).
    bad = 20 / 40_320
    assert budget.error_budget(0.999) == pytest.approx(0.001)
    assert budget.burn_rate(bad, 0.999) == pytest.approx(20 / 40.32)
    assert budget.budget_remaining(bad, 0.999) == pytest.approx(1 - 20 / 40.32)
    # Twice the budget (80.64 minutes down) is a burn rate of 2 and -100 % left: overspent.
    assert budget.budget_remaining(80.64 / 40_320, 0.999) == pytest.approx(-1.0)
    assert budget.burn_rate(None, 0.999) is None


@pytest.mark.parametrize("target", [0, 1, 1.5, -0.1])
def test_it_refuses_targets_that_leave_no_budget_or_are_not_fractions(target):
    with pytest.raises(ValueError):
        budget.error_budget(target)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # The workbook's Table 5-8 at its own 30-day period: 2 % x 720 h / 1 h = 14.4,
        # 5 % x 720 h / 6 h = 6, 10 % x 720 h / 72 h = 1.
        (DAYS_30, [14.4, 6.0, 1.0]),
        # 28 days (672 h): 2 % x 672 / 1 = 13.44, 5 % x 672 / 6 = 5.6, 10 % x 672 / 72 = 0.9333.
        (DAYS_28, [13.44, 5.6, 672 * 0.1 / 72]),
        # 7 days (168 h): 3.36, 1.4, 0.2333.
        (timedelta(days=7), [3.36, 1.4, 168 * 0.1 / 72]),
    ],
)
def test_it_scales_the_workbook_thresholds_to_the_window(window, expected):
    assert [rule.threshold(window) for rule in budget.WORKBOOK_RULES] == pytest.approx(expected)
    assert [(r.level, r.long, r.short) for r in budget.WORKBOOK_RULES] == [
        ("page", "1h", "5m"),
        ("page", "6h", "30m"),
        ("ticket", "3d", "6h"),
    ]


def test_a_rule_fires_only_when_both_windows_exceed_the_threshold():
    rule = budget.WORKBOOK_RULES[0]  # page: 1 h and 5 min above 14.4 (30 days)
    assert rule.fires({"1h": 15.0, "5m": 20.0}, DAYS_30)
    assert not rule.fires({"1h": 15.0, "5m": 3.0}, DAYS_30)  # burning stopped: reset
    assert not rule.fires({"1h": 14.4, "5m": 20.0}, DAYS_30)  # equal is not above
    assert not rule.fires({"1h": None, "5m": 20.0}, DAYS_30)  # no data is not a breach
    assert rule.fires({"1h": 13.5, "5m": 13.5}, DAYS_28)  # 13.5 > 13.44 at 28 days


def test_impact_runs_to_mitigation_else_resolution_else_now():
    opened = NOW - 60 * MIN
    mitigated, resolved = NOW - 50 * MIN, NOW - 20 * MIN
    assert budget.impact_interval(opened, mitigated, resolved, now=NOW) == (opened, mitigated)
    assert budget.impact_interval(opened, None, resolved, now=NOW) == (opened, resolved)
    assert budget.impact_interval(opened, None, None, now=NOW) == (opened, NOW)
    # A resolution recorded before the mitigation: resolved means restored, the earlier wins.
    assert budget.impact_interval(opened, resolved, mitigated, now=NOW) == (opened, mitigated)
    # Times past now (a clock ahead) stop at now.
    assert budget.impact_interval(opened, None, NOW + MIN, now=NOW) == (opened, NOW)


def test_overlapping_incidents_count_once_and_are_clipped_to_the_window():
    ten = NOW.replace(hour=10)
    intervals = [
        (ten, ten + 30 * MIN),  # 10:00-10:30
        (ten + 20 * MIN, ten + 60 * MIN),  # 10:20-11:00, overlapping: 10:00-11:00 together
        (ten + 90 * MIN, ten + 100 * MIN),  # 11:30-11:40
    ]
    assert budget.merged(intervals) == [(ten, ten + 60 * MIN), (ten + 90 * MIN, ten + 100 * MIN)]
    assert budget.downtime(intervals, ten - 60 * MIN, NOW) == 70 * MIN
    # From 10:45: 15 minutes of the first outage, 10 of the second.
    assert budget.downtime(intervals, ten + 45 * MIN, NOW) == 25 * MIN
    assert budget.downtime(intervals, ten + 40 * MIN, ten + 50 * MIN) == 10 * MIN
    assert budget.downtime([], ten, NOW) == timedelta(0)


def test_an_incident_open_for_ten_minutes_pages_and_opens_a_ticket():
    # 99.9 % over 28 days, one incident open since 11:50 (10 minutes). Bad fractions and burn
    # rates (bad / 0.001): 5m 5/5 = 1 -> 1000; 30m 10/30 -> 333.33; 1h 10/60 -> 166.67;
    # 6h 10/360 -> 27.78; 3d 10/4320 -> 2.3148; the window 10/40320 -> 0.248, so the SLI is
    # 1 - 10/40320 = 0.999752 and 1 - 0.248 = 75.2 % of the budget is left.
    status = budget.incident_status([(NOW - 10 * MIN, NOW)], target=0.999, window=DAYS_28, now=NOW)
    assert status.burn_rates == pytest.approx(
        {"5m": 1000, "30m": 1000 / 3, "1h": 1000 / 6, "6h": 1000 / 36, "3d": 1000 / 432}
    )
    assert status.sli == pytest.approx(1 - 10 / 40_320)
    assert status.budget_remaining == pytest.approx(1 - 10 / 40.32)
    # Page: 166.67 (1h) and 1000 (5m) > 13.44. Ticket: 2.31 (3d) and 27.78 (6h) > 0.933.
    assert status.levels == {"page", "ticket"}
    assert status.level == "page"


def test_the_page_stops_once_the_short_windows_are_clear():
    # The same 10-minute outage, mitigated 35 minutes ago (11:15-11:25): 5m and 30m are 0,
    # so neither page rule fires although 1h (10/60 -> 166.67) and 6h (27.78) still burn.
    # Ticket: 3d 10/4320 -> 2.31 and 6h 27.78 > 0.933: it stays for six hours.
    status = budget.incident_status(
        [(NOW - 45 * MIN, NOW - 35 * MIN)], target=0.999, window=DAYS_28, now=NOW
    )
    assert status.burn_rates["5m"] == 0
    assert status.burn_rates["30m"] == 0
    assert status.burn_rates["1h"] == pytest.approx(1000 / 6)
    assert status.levels == {"ticket"}


def test_a_one_minute_blip_pages_a_99_9_objective_but_not_a_99_one():
    # 99.9 % over 28 days, 1 minute down 3 minutes ago: 5m 1/5 -> 200 (above 13.44) but 1h
    # 1/60 -> 16.67 ... also above; the 6h/30m pair: 30m 1/30 -> 33.3, 6h 1/360 -> 2.78 < 5.6.
    # So the first page rule fires on a one-minute outage. At 99 % (budget 0.01, ten times
    # larger) every rate is ten times smaller: 1h 1.667 < 13.44, no page; 3d 1/4320/0.01 =
    # 0.0231 < 0.933, no ticket.
    outage = [(NOW - 3 * MIN, NOW - 2 * MIN)]
    tight = budget.incident_status(outage, target=0.999, window=DAYS_28, now=NOW)
    assert tight.levels == {"page"}
    loose = budget.incident_status(outage, target=0.99, window=DAYS_28, now=NOW)
    assert loose.burn_rates["1h"] == pytest.approx(100 / 60)
    assert loose.levels == frozenset()
    assert loose.level is None


def test_good_fractions_check_ratios_and_compare_latencies():
    samples = [(60.0, 0.5), (120.0, float("nan")), (180.0, 1.0000000001), (240.0, 0.0)]
    assert budget.good_fractions(samples) == [(60.0, 0.5), (180.0, 1.0), (240.0, 0.0)]
    with pytest.raises(ValueError, match="not a fraction between 0 and 1"):
        budget.good_fractions([(60.0, 12.5)])  # a rate, not good / total
    # p95 latency per step in seconds against a 300 ms threshold: at most 0.3 is good.
    latencies = [(60.0, 0.25), (120.0, 0.3), (180.0, 0.31), (240.0, float("nan"))]
    assert budget.good_fractions(latencies, latency_threshold=0.3) == [
        (60.0, 1.0),
        (120.0, 1.0),
        (180.0, 0.0),
    ]


def test_sample_windows_take_the_mean_of_their_steps():
    # Steps at t = 60, 120, ..., 600 with good fractions 1, 1, ..., 0.5 for the last three.
    samples = [(60.0 * i, 0.5 if i > 7 else 1.0) for i in range(1, 11)]
    # (300, 600]: the steps 360..600, five of them, three bad by half: 1.5 / 5 = 0.3.
    assert budget.samples_bad_fraction(samples, 300, 600) == pytest.approx(0.3)
    # (0, 600]: ten steps, 1.5 / 10 = 0.15. Nothing in (600, 900]: None.
    assert budget.samples_bad_fraction(samples, 0, 600) == pytest.approx(0.15)
    assert budget.samples_bad_fraction(samples, 600, 900) is None


def test_sample_status_from_prometheus_steps():
    # 99 % (budget 0.01) over 28 days. Recent 1-minute steps over 3 days: the last 5 steps
    # have half their requests bad, every other step none. Bad fractions: 5m 2.5/5 = 0.5 ->
    # burn 50; 30m 2.5/30 -> 8.33; 1h 2.5/60 -> 4.17; 6h 2.5/360 -> 0.694; 3d 2.5/4320 ->
    # 0.0579. The window's 5-minute steps are all good but the last (half bad): 8064 steps,
    # bad 0.5/8064 -> burn 0.0062, SLI 1 - 0.5/8064.
    end = 1_000_000_020.0
    recent = [(end - 60 * i, 0.5 if i < 5 else 1.0) for i in range(4320)]
    window = [(end - 300 * i, 0.5 if i == 0 else 1.0) for i in range(8064)]
    status = budget.sample_status(window, recent, target=0.99, window=DAYS_28, end=end)
    assert status.burn_rates == pytest.approx(
        {"5m": 50, "30m": 25 / 3, "1h": 25 / 6, "6h": 25 / 36, "3d": 2.5 / 43.2}
    )
    assert status.sli == pytest.approx(1 - 0.5 / 8064)
    # Page rule 2: 30m 8.33 > 5.6 but 6h 0.694 is not; rule 1: 1h 4.17 < 13.44. No ticket.
    assert status.levels == frozenset()
    # With 60 half-bad steps (the last hour): 5m, 30m and 1h are all 0.5 -> 50 > 13.44: page.
    recent = [(end - 60 * i, 0.5 if i < 60 else 1.0) for i in range(4320)]
    assert budget.sample_status(window, recent, target=0.99, window=DAYS_28, end=end).levels == {
        "page"
    }


def test_no_samples_is_no_data_and_no_alert():
    status = budget.sample_status([], [], target=0.999, window=DAYS_28, end=1e9)
    assert status.sli is None
    assert status.budget_remaining is None
    assert set(status.burn_rates.values()) == {None}
    assert status.levels == frozenset()
