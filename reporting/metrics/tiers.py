"""DORA performance tiers, versioned by report year (2024 by default; 2023 selectable).

Each report gives, per cluster, a typical value of each key. A measured value gets the best
tier whose value it meets or beats, checked from elite downwards; past the low cluster it is
still low. Where a report's clusters are not ordered (2024's change failure rate: high 20 %,
medium 10 %), checking best-first means the better-named cluster wins: 8 % is "high" in 2024.

| key (report)                      | elite        | high         | medium        | low            |
| --------------------------------- | ------------ | ------------ | ------------- | -------------- |
| deployments per day (2023, 2024)  | >= 1         | >= 1/7       | >= 1/30       | below          |
| lead time (2023, 2024)            | < 1 day      | < 1 week     | < 1 month     | longer         |
| change failure rate (2024)        | <= 5 %       | <= 20 %      | <= 10 %       | <= 40 %, above |
| change failure rate (2023)        | <= 5 %       | <= 10 %      | <= 15 %       | <= 64 %, above |
| recovery time (2024)              | < 1 hour     | < 1 day      | < 1 day       | longer         |
| recovery time (2023)              | < 1 hour     | < 1 day      | < 1 week      | longer         |

A month is 30 days. None (nothing measured) has no tier.
"""

from __future__ import annotations

from enum import StrEnum

DAY = 86_400.0
REPORTS = ("2024", "2023")
DEFAULT_REPORT = "2024"


class Tier(StrEnum):
    ELITE = "elite"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


ORDER = (Tier.ELITE, Tier.HIGH, Tier.MEDIUM)

# key -> report -> ((tier, bound) from elite down, whether a value must be at least the bound)
TABLE: dict[str, dict[str, tuple[tuple[tuple[Tier, float], ...], bool]]] = {
    "deployment_frequency": {
        year: (((Tier.ELITE, 1.0), (Tier.HIGH, 1 / 7), (Tier.MEDIUM, 1 / 30)), True)
        for year in REPORTS
    },
    "lead_time_for_changes": {
        year: (((Tier.ELITE, DAY), (Tier.HIGH, 7 * DAY), (Tier.MEDIUM, 30 * DAY)), False)
        for year in REPORTS
    },
    "change_failure_rate": {
        "2024": (
            ((Tier.ELITE, 0.05), (Tier.HIGH, 0.20), (Tier.MEDIUM, 0.10), (Tier.LOW, 0.40)),
            False,
        ),
        "2023": (
            ((Tier.ELITE, 0.05), (Tier.HIGH, 0.10), (Tier.MEDIUM, 0.15), (Tier.LOW, 0.64)),
            False,
        ),
    },
    "failed_deployment_recovery_time": {
        "2024": (((Tier.ELITE, 3600.0), (Tier.HIGH, DAY), (Tier.MEDIUM, DAY)), False),
        "2023": (((Tier.ELITE, 3600.0), (Tier.HIGH, DAY), (Tier.MEDIUM, 7 * DAY)), False),
    },
}

# Durations and frequencies beat a bound strictly ("less than one day"); rates may equal it.
INCLUSIVE = {"change_failure_rate"}


def tier_for(key: str, value: float | None, *, report: str = DEFAULT_REPORT) -> Tier | None:
    """The tier of ``value`` for ``key`` in ``report``, or None when nothing was measured."""
    if value is None:
        return None
    bounds, at_least = TABLE[key][report]
    for tier, bound in bounds:
        if at_least and value >= bound:
            return tier
        if not at_least and (value <= bound if key in INCLUSIVE else value < bound):
            return tier
    return Tier.LOW
