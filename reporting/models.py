"""Daily DORA rollups: what the dashboards and the metrics API read instead of raw records.

One row per service and UTC day with counted deployments, plus one organisation row per day
(``service`` null) summing every service, so an organisation-wide year is 365 rows, not 73,000.
Counts are exact sums. Lead and recovery times are kept as the exact values (seconds), so a
median over any range is exact too (docs/metrics.md, "Rollups").

Rows are rebuilt, never edited: database triggers note which services and moments a write to
deployments, changes, incidents or their links touched (``RollupDirt``), and
``reporting.rollups.refresh_pending`` recomputes those days from the raw records with the same
pure functions the definitions are written in.
"""

from __future__ import annotations

import numpy as np
from django.db import models

from portal.models import Service

# Values are packed little-endian float64: fetching and unpacking a year of them is one
# memcpy per row, where a Postgres array would be parsed value by value (docs/performance.md).
VALUE_DTYPE = np.dtype("<f8")


def pack(values) -> bytes:
    return np.asarray(values, dtype=VALUE_DTYPE).tobytes()


def unpack(data) -> np.ndarray:
    return np.frombuffer(bytes(data) if isinstance(data, memoryview) else data, dtype=VALUE_DTYPE)


class DoraDay(models.Model):
    """The counted deployments of one UTC day, for one service or (service null) all of them."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    deployments = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="with an attributed incident")
    rework = models.PositiveIntegerField(default=0)
    lead_time_count = models.PositiveIntegerField(default=0)
    recovery_count = models.PositiveIntegerField(default=0)
    lead_times = models.BinaryField(default=b"", help_text="seconds, packed float64")
    recovery_times = models.BinaryField(default=b"", help_text="seconds, packed float64")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day"],
                condition=models.Q(service__isnull=False),
                name="doraday_service_day",
            ),
            models.UniqueConstraint(
                fields=["day"], condition=models.Q(service__isnull=True), name="doraday_org_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_id or 'organisation'} {self.day}: {self.deployments} deployments"


class RollupDirt(models.Model):
    """A service whose days between two moments need recomputing (written by triggers).

    ``from_at`` null means since the beginning, ``to_at`` null means up to now (an incident not
    yet resolved makes later deployments rework).
    """

    service_id = models.BigIntegerField()
    from_at = models.DateTimeField(null=True)
    to_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"service {self.service_id}: {self.from_at or 'start'} to {self.to_at or 'now'}"
