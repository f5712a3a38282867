"""Error budgets and burn rates: pure functions over plain values (no ORM, no Django).

The definitions (docs/slos.md; hand-computed cases in tests/reporting/slos/test_budget.py):

- **target** ``t``: the objective as a fraction (99.9 % is 0.999); the **error budget** is
  ``1 - t``, the share of the SLO window that may be bad.
- **bad fraction** ``b(W)`` of a window ``W`` ending now: the share of ``W`` spent inside
  incident impact windows (measurement by incidents), or the mean of ``1 - good`` over the
  Prometheus samples in ``W`` (measurement by Prometheus, each step weighing the same).
- **SLI** over the SLO window: ``1 - b(window)``.
- **burn rate** over ``W``: ``b(W) / (1 - t)``; 1 spends the budget exactly by the end of the
  SLO window, 14.4 spends a 30-day budget in about two days.
- **budget remaining**: ``1 - b(window) / (1 - t)``, the share of the budget left; below 0 the
  budget is overspent.
- **alerts**: the multiwindow, multi-burn-rate rules of the Google SRE Workbook, chapter 5
  "Alerting on SLOs", Table 5-8 (``WORKBOOK_RULES``): page when the burn rate exceeds 14.4
  over both 1 h and 5 min, or 6 over both 6 h and 30 min; ticket when it exceeds 1 over both
  3 days and 6 h. Those numbers are for a 30-day SLO: each says "this share of the budget is
  spent within the long window" (2 %, 5 %, 10 %), and the rate that spends it is
  ``share x period / long window``, so for another period they scale with it (x 28/30 at 28
  days: 13.44, 5.6 and 0.933).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

PAGE = "page"
TICKET = "ticket"
WORKBOOK_PERIOD = timedelta(days=30)

# The windows burn rates are reported over: the workbook's long and short windows.
BURN_WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "3d": timedelta(days=3),
}

# Ratios a Prometheus query may return a hair outside [0, 1] through float arithmetic.
RATIO_TOLERANCE = 1e-9

Sample = tuple[float, float]  # (unix seconds, value)
Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class BurnRule:
    """One row of the workbook's Table 5-8: alert at ``level`` when the burn rate exceeds the
    threshold over both the long and the short window (the short one, 1/12 of the long, makes
    the alert stop soon after the burning stops)."""

    level: str
    long: str
    short: str
    budget_spent: float  # the share of the whole budget spent within the long window

    def threshold(self, window: timedelta) -> float:
        """The burn rate that spends ``budget_spent`` of a ``window`` budget within the long
        window: 0.02 x 720 h / 1 h = 14.4 for a 30-day window, 13.44 for 28 days."""
        return self.budget_spent * (window / BURN_WINDOWS[self.long])

    def fires(self, burn_rates: Mapping[str, float | None], window: timedelta) -> bool:
        long, short = burn_rates.get(self.long), burn_rates.get(self.short)
        limit = self.threshold(window)
        return long is not None and short is not None and long > limit and short > limit


WORKBOOK_RULES: tuple[BurnRule, ...] = (
    BurnRule(PAGE, "1h", "5m", 0.02),  # 14.4 at 30 days
    BurnRule(PAGE, "6h", "30m", 0.05),  # 6 at 30 days
    BurnRule(TICKET, "3d", "6h", 0.10),  # 1 at 30 days
)


@dataclass(frozen=True)
class Status:
    """An SLO's state at one moment. ``None`` means nothing to measure (no samples)."""

    sli: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]
    levels: frozenset[str]  # the alert levels whose rules fire now

    @property
    def level(self) -> str | None:
        """The most urgent level firing (page before ticket), or None."""
        return PAGE if PAGE in self.levels else TICKET if TICKET in self.levels else None


def error_budget(target: float) -> float:
    if not 0 < target < 1:
        raise ValueError(f"a target is a fraction between 0 and 1 (exclusive), not {target}")
    return 1 - target


def burn_rate(bad: float | None, target: float) -> float | None:
    """``bad / (1 - target)``: how many times faster than sustainable the budget is spent."""
    return None if bad is None else bad / error_budget(target)


def budget_remaining(bad: float | None, target: float) -> float | None:
    """``1 - bad / (1 - target)``: the share of the budget left (negative: overspent)."""
    rate = burn_rate(bad, target)
    return None if rate is None else 1 - rate


def firing_rules(burn_rates: Mapping[str, float | None], window: timedelta) -> list[BurnRule]:
    return [rule for rule in WORKBOOK_RULES if rule.fires(burn_rates, window)]


def status_of(
    bad: float | None,
    bad_of: Callable[[timedelta], float | None],
    *,
    target: float,
    window: timedelta,
) -> Status:
    """The status from ``bad``, the bad fraction of the SLO window, and ``bad_of(span)``, that
    of the burn window ``span`` ending at the same moment."""
    rates = {name: burn_rate(bad_of(span), target) for name, span in BURN_WINDOWS.items()}
    return Status(
        sli=None if bad is None else 1 - bad,
        budget_remaining=budget_remaining(bad, target),
        burn_rates=rates,
        levels=frozenset(rule.level for rule in firing_rules(rates, window)),
    )


# --- measured by incidents ---------------------------------------------------------------------


def impact_interval(
    opened_at: datetime,
    mitigated_at: datetime | None,
    resolved_at: datetime | None,
    *,
    now: datetime,
) -> Interval:
    """An incident's impact: from opening to mitigation (service restored), else resolution,
    else now (still open); the earlier of the two when both are set. Never past now."""
    ends = [moment for moment in (mitigated_at, resolved_at) if moment is not None]
    end = min([*ends, now])
    return opened_at, max(end, opened_at)


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined: two incidents at once are one outage."""
    result: list[Interval] = []
    for start, end in sorted(intervals):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def downtime(intervals: Iterable[Interval], start: datetime, end: datetime) -> timedelta:
    """The time in ``[start, end)`` covered by at least one interval."""
    total = timedelta(0)
    for begins, ends in merged(intervals):
        overlap = min(ends, end) - max(begins, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def incident_status(
    intervals: Sequence[Interval], *, target: float, window: timedelta, now: datetime
) -> Status:
    """The status when every moment inside an impact window is bad and every other is good."""
    joined = merged(intervals)

    def bad_of(span: timedelta) -> float:
        return downtime(joined, now - span, now) / span

    return status_of(bad_of(window), bad_of, target=target, window=window)


# --- measured by Prometheus --------------------------------------------------------------------


def good_fractions(
    samples: Iterable[Sample], *, latency_threshold: float | None = None
) -> list[Sample]:
    """Each sample as the fraction of good events at that step. NaN (no traffic) is skipped.

    Without ``latency_threshold`` the values are that fraction already (good / total) and must
    lie in [0, 1]; with it they are latencies in seconds and a step is good (1) when its value
    is at most the threshold, else bad (0)."""
    result = []
    for at, value in samples:
        if math.isnan(value):
            continue
        if latency_threshold is not None:
            result.append((at, 1.0 if value <= latency_threshold else 0.0))
        elif -RATIO_TOLERANCE <= value <= 1 + RATIO_TOLERANCE:
            result.append((at, min(max(value, 0.0), 1.0)))
        else:
            raise ValueError(
                f"the query gave {value:g}, not a fraction between 0 and 1: it should divide "
                "good events by all events"
            )
    return result


def samples_bad_fraction(samples: Sequence[Sample], start: float, end: float) -> float | None:
    """The mean of ``1 - good`` over the samples in ``(start, end]``; None when there are none."""
    inside = [good for at, good in samples if start < at <= end]
    if not inside:
        return None
    return sum(1 - good for good in inside) / len(inside)


def sample_status(
    window_samples: Sequence[Sample],
    recent_samples: Sequence[Sample],
    *,
    target: float,
    window: timedelta,
    end: float,
) -> Status:
    """The status from good fractions: ``window_samples`` cover the SLO window (coarse steps),
    ``recent_samples`` the longest burn window (fine steps, so 5 minutes has several)."""

    def bad_of(span: timedelta) -> float | None:
        return samples_bad_fraction(recent_samples, end - span.total_seconds(), end)

    bad = samples_bad_fraction(window_samples, end - window.total_seconds(), end)
    return status_of(bad, bad_of, target=target, window=window)
