"""DoraTotals as the API and the dashboard present it: values, counts and tiers."""

from __future__ import annotations

from reporting.metrics.daily import DoraTotals
from reporting.metrics.tiers import tier_for


def dora_summary(result: DoraTotals, *, report: str) -> dict:
    def tier(key: str, value):
        found = tier_for(key, value, report=report)
        return found.value if found else None

    return {
        "deployment_frequency": {
            "count": result.deployment_count,
            "per_day": result.per_day,
            "tier": tier(
                "deployment_frequency", result.per_day if result.deployment_count else None
            ),
        },
        "lead_time_for_changes": {
            "median_seconds": result.lead_time_median,
            "count": result.lead_time_count,
            "tier": tier("lead_time_for_changes", result.lead_time_median),
        },
        "change_failure_rate": {
            "rate": result.change_failure_rate,
            "failed": result.failed_count,
            "total": result.deployment_count,
            "tier": tier("change_failure_rate", result.change_failure_rate),
        },
        "failed_deployment_recovery_time": {
            "median_seconds": result.recovery_median,
            "count": result.recovery_count,
            "tier": tier("failed_deployment_recovery_time", result.recovery_median),
        },
        "deployment_rework_rate": {
            "rate": result.rework_rate,
            "rework": result.rework_count,
            "total": result.deployment_count,
        },
    }
