"""Service level objectives, their fast-burn alerts and the alerts' notification outbox
(docs/slos.md). Imported at the end of reporting/models.py, so Django registers them with the
reporting app.

``Slo`` holds the policy (objective, window, how it is measured, who hears about it) and the
outcome of its last evaluation (written in one UPDATE, as a CI source's sync state is).
``SloAlert`` is one firing of one alert level (page or ticket), opened once and resolved once;
``SloNotification`` is the outbox of those openings and resolutions, sent after commit and
retried on the next evaluation, as reporting.alerts does for alert rules.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models

from reporting.models import OutboxNotification  # defined before reporting.models imports us
from reporting.slos import budget


class Slo(models.Model):
    """An objective of one service, e.g. "availability 99.9 % over 28 days" or "95 % of
    requests under 300 ms over 28 days", with its error budget and burn rates."""

    class Kind(models.TextChoices):
        AVAILABILITY = "availability", "Availability"
        LATENCY = "latency", "Latency"

    class Measurement(models.TextChoices):
        INCIDENTS = "incidents", "Incident impact windows"
        PROMETHEUS = "prometheus", "Prometheus query"

    class QueryResult(models.TextChoices):
        RATIO = "ratio", "The fraction of good events (good / total, 0 to 1)"
        LATENCY = "latency", "A latency in seconds (e.g. p95), compared with the threshold"

    class Level(models.TextChoices):
        OK = "ok", "OK"
        TICKET = budget.TICKET, "Ticket (slow burn)"
        PAGE = budget.PAGE, "Page (fast burn)"

    service = models.ForeignKey("portal.Service", on_delete=models.CASCADE, related_name="slos")
    slug = models.SlugField(max_length=150, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.AVAILABILITY)
    objective = models.FloatField(help_text="percent of good events (or time), e.g. 99.9")
    window_days = models.PositiveSmallIntegerField(default=28)
    latency_threshold_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="latency objectives: a request is good under this"
    )
    measurement = models.CharField(
        max_length=20, choices=Measurement.choices, default=Measurement.INCIDENTS
    )
    incident_severities = models.JSONField(
        default=list, blank=True, help_text="only incidents of these severities count; [] all"
    )
    prometheus_source = models.ForeignKey(
        "pipelines.CISource",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": "prometheus"},
    )
    query = models.TextField(blank=True, help_text="PromQL giving one value per step")
    query_result = models.CharField(
        max_length=10, choices=QueryResult.choices, default=QueryResult.RATIO
    )
    emails = models.TextField(blank=True, help_text="addresses to notify, one per line")
    webhook_url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The last evaluation, written by reporting.slos.services in one UPDATE per outcome.
    evaluated_at = models.DateTimeField(null=True, blank=True, editable=False)
    sli = models.FloatField(null=True, blank=True, editable=False)
    budget_remaining = models.FloatField(null=True, blank=True, editable=False)
    burn_rates = models.JSONField(default=dict, blank=True, editable=False)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.OK, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Beat claims an SLO by moving this forward in a conditional UPDATE (services.slos_evaluate).
    next_evaluation_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="slo_name_per_service")
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.name}"

    @property
    def target(self) -> float:
        return self.objective / 100

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]

    @property
    def describe(self) -> str:
        """The objective in words: "99.9 % available over 28 days"."""
        if self.kind == self.Kind.LATENCY:
            what = f"of requests under {self.latency_threshold_ms} ms"
        else:
            what = "available"
        return f"{self.objective:g} % {what} over {self.window_days} days"

    @property
    def budget_minutes(self) -> float:
        """The window's budget as time: 0.1 % of 28 days is 40.3 minutes."""
        return (1 - self.target) * self.window.total_seconds() / 60

    @property
    def bad_minutes(self) -> float | None:
        """Time-based SLOs (incidents): how much of the window was bad."""
        if self.sli is None:
            return None
        return (1 - self.sli) * self.window.total_seconds() / 60

    @property
    def is_failing(self) -> bool:
        """The last evaluation failed (its numbers are older than the error)."""
        return bool(self.last_error_at) and (
            self.evaluated_at is None or self.last_error_at >= self.evaluated_at
        )

    @property
    def thresholds(self) -> list[tuple[budget.BurnRule, float]]:
        return [(rule, rule.threshold(self.window)) for rule in budget.WORKBOOK_RULES]


class SloAlert(models.Model):
    """One firing of an SLO's alert level: opened when its burn rule starts to fire, resolved
    when no rule of that level fires any more."""

    slo = models.ForeignKey(Slo, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=10, choices=Slo.Level.choices)
    message = models.TextField()
    burn_rates = models.JSONField(default=dict, help_text="when it opened")
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slo", "level"],
                condition=models.Q(resolved_at__isnull=True),
                name="sloalert_one_open_per_level",
            )
        ]

    def __str__(self) -> str:
        return self.message


class SloNotification(OutboxNotification):
    """The SLO alerts' outbox."""

    alert = models.ForeignKey(SloAlert, on_delete=models.CASCADE, related_name="notifications")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "event", "channel"], name="slonotification_once"
            )
        ]
        indexes = [
            # The sender's claim: pending rows, oldest first.
            models.Index(
                fields=["id"],
                condition=models.Q(status="pending"),
                name="slonotification_pending",
            )
        ]


# Signal receivers (incidents changed -> evaluate) and the Celery tasks they queue.
from reporting.slos import signals  # noqa: E402, F401
