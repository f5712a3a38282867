"""Daily DORA rollups: what the dashboards and the metrics API read instead of raw records.

One row per service and UTC day with counted deployments, plus one row per team and day and one
organisation row per day summing those services, so an organisation-wide year is 365 rows, not
73,000, and a dashboard's breakdown by team reads 20 rows a day, not 200.
Counts are exact sums. Lead and recovery times are kept as the exact values (seconds), so a
median over any range is exact too (docs/metrics.md, "Rollups").

Rows are rebuilt, never edited: database triggers note which services and moments a write to
deployments, changes, incidents or their links touched (``RollupDirt``), and
``reporting.rollups.refresh_pending`` recomputes those days from the raw records with the same
pure functions the definitions are written in.
"""

from __future__ import annotations

import re

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from portal import outbound
from portal.models import Service

# Values are packed little-endian: fetching and unpacking a year of them is one memcpy per
# row, where a Postgres array would be parsed value by value (docs/performance.md).
VALUE_DTYPE = np.dtype("<f8")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


WHOLE_DTYPE = np.dtype("<i4")
WHOLE_LIMIT = np.iinfo(WHOLE_DTYPE).max


def pack(values) -> bytes:
    return np.asarray(values, dtype=VALUE_DTYPE).tobytes()


def unpack(data) -> np.ndarray:
    return np.frombuffer(bytes(data) if isinstance(data, memoryview) else data, dtype=VALUE_DTYPE)


def pack_split(values) -> tuple[bytes, bytes]:
    """(whole seconds as int32, the other values as float64): CI systems report whole seconds,
    so most values take half the bytes, losslessly; both halves concatenate in SQL."""
    values = np.asarray(values, dtype=VALUE_DTYPE)
    whole = (values == np.round(values)) & (np.abs(values) <= WHOLE_LIMIT)
    return values[whole].astype(WHOLE_DTYPE).tobytes(), values[~whole].tobytes()


def unpack_split(whole, other) -> np.ndarray:
    whole = np.frombuffer(bytes(whole), dtype=WHOLE_DTYPE).astype(VALUE_DTYPE)
    return np.concatenate([whole, unpack(other)])


class DoraDay(models.Model):
    """The counted deployments of one UTC day: of one service, of one team's services (service
    null), or of every service (both null)."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        "portal.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    deployments = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="with an attributed incident")
    rework = models.PositiveIntegerField(default=0)
    lead_time_count = models.PositiveIntegerField(default=0)
    recovery_count = models.PositiveIntegerField(default=0)
    # The values themselves, split by pack_split: whole seconds (int32) and the rest (float64).
    lead_times_whole = models.BinaryField(default=b"")
    lead_times = models.BinaryField(default=b"")
    recovery_times_whole = models.BinaryField(default=b"")
    recovery_times = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service", "day"],
                condition=models.Q(service__isnull=False),
                name="doraday_service_day",
            ),
            models.UniqueConstraint(
                fields=["team", "day"],
                condition=models.Q(team__isnull=False),
                name="doraday_team_day",
            ),
            models.UniqueConstraint(
                fields=["day"],
                condition=models.Q(service__isnull=True, team__isnull=True),
                name="doraday_org_day",
            ),
        ]

    def __str__(self) -> str:
        scope = f"service {self.service_id}" if self.service_id else f"team {self.team_id}"
        if not (self.service_id or self.team_id):
            scope = "organisation"
        return f"{scope} {self.day}: {self.deployments} deployments"


class PipelineDay(models.Model):
    """The pipeline runs of one service created on one UTC day (reporting.metrics.health's
    HealthDay): counts, the durations themselves (exact percentiles), the default branch's
    decided runs (red spells), and per job name and runner what the health page adds up."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    decided = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    durations = models.BinaryField(default=b"", help_text="seconds, packed float64")
    queues = models.BinaryField(default=b"", help_text="seconds, packed float64")
    main_runs = models.BinaryField(default=b"", help_text="packed health.MAIN_RUN records")
    # {"runners": {runner: minutes}, "jobs": {name: [seconds]}, "flaky": {name: commits}}
    details = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "day"], name="pipelineday_service_day")
        ]

    def __str__(self) -> str:
        return f"service {self.service_id} {self.day}: {self.decided} decided runs"


class RollupDirt(models.Model):
    """A service whose days between two moments need recomputing (written by triggers), in
    both rollups (DoraDay and PipelineDay).

    ``from_at`` null means since the beginning, ``to_at`` null means up to now (an incident not
    yet resolved makes later deployments rework).
    """

    class Rollup(models.TextChoices):
        DORA = "dora", "DoraDay"
        PIPELINES = "pipelines", "PipelineDay"

    service_id = models.BigIntegerField()
    # Which rollup: a CI sync's runs leave the DORA days alone, a push of deployments the
    # pipeline days.
    rollup = models.CharField(max_length=10, choices=Rollup.choices, db_default=Rollup.DORA)
    from_at = models.DateTimeField(null=True)
    to_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        span = f"{self.from_at or 'start'} to {self.to_at or 'now'}"
        return f"{self.rollup} of service {self.service_id}: {span}"


class AlertRule(models.Model):
    """A condition leads want to hear about, by email and by a chat webhook."""

    class Kind(models.TextChoices):
        DORA = "dora", "A DORA key crosses a threshold"
        RED_BRANCH = "red_branch", "A default branch stays red"
        SOURCE_FAILING = "source_failing", "A CI source keeps failing to sync"

    class Metric(models.TextChoices):
        CHANGE_FAILURE_RATE = "change_failure_rate", "Change failure rate (%)"
        REWORK_RATE = "deployment_rework_rate", "Deployment rework rate (%)"
        LEAD_TIME = "lead_time_hours", "Lead time for changes, median (hours)"
        RECOVERY = "recovery_hours", "Failed deployment recovery time, median (hours)"
        FREQUENCY = "deployments_per_day", "Deployments per day"

    class Comparison(models.TextChoices):
        ABOVE = "above", "above"
        BELOW = "below", "below"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    metric = models.CharField(max_length=30, choices=Metric.choices, blank=True)
    comparison = models.CharField(
        max_length=5, choices=Comparison.choices, default=Comparison.ABOVE
    )
    threshold = models.FloatField(null=True, blank=True, help_text="DORA rules: the limit.")
    window_days = models.PositiveIntegerField(
        default=7, help_text="DORA rules: the key is measured over the last N days."
    )
    hours = models.PositiveIntegerField(
        default=4, help_text="Red branch and failing source rules: for how long, in hours."
    )
    team = models.ForeignKey(
        "portal.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    emails = models.TextField(blank=True, help_text="Addresses to email, one per line.")
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Receives a JSON POST with a 'text' field."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.kind == self.Kind.DORA:
            if not self.metric:
                errors["metric"] = ["Choose the DORA key to watch."]
            if self.threshold is None:
                errors["threshold"] = ["Give the limit."]
            elif self.threshold < 0:
                errors["threshold"] = ["The limit cannot be negative."]
            if not self.window_days or self.window_days > 365:
                errors["window_days"] = ["Between 1 and 365 days."]
        elif not self.hours or self.hours > 24 * 30:
            errors["hours"] = ["Between 1 and 720 hours."]
        if self.team_id and self.service_id:
            errors["service"] = ["Give a team or a service, not both."]
        bad = [address for address in self.email_list if not _EMAIL.match(address)]
        if bad:
            errors["emails"] = [f"Not an email address: {', '.join(bad)}"]
        if self.webhook_url and (problem := outbound.url_problem(self.webhook_url)):
            errors["webhook_url"] = [problem]  # not http(s), or an address the SSRF guard refuses
        if not self.email_list and not self.webhook_url:
            errors.setdefault("emails", []).append(
                "Give at least one address or a webhook URL: who should hear about it?"
            )
        if errors:
            raise ValidationError(errors)


class Alert(models.Model):
    """One breach of a rule by one subject (the scope, a service or a source): opened once,
    resolved once, notified once each way."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject = models.CharField(max_length=200, help_text="what breached: a slug, or 'scope'")
    message = models.TextField()
    value = models.FloatField(null=True, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_breach",
            )
        ]

    def __str__(self) -> str:
        return self.message


class OutboxNotification(models.Model):
    """An outbox row: an alert notified once per channel when it opens and once when it
    resolves; a failed send is retried on the next evaluation, up to MAX_ATTEMPTS
    (``reporting.alerts.outbox_drain`` sends them). Subclasses add the ``alert``."""

    class Event(models.TextChoices):
        FIRING = "firing", "firing"
        RESOLVED = "resolved", "resolved"

    class Channel(models.TextChoices):
        EMAIL = "email", "email"
        WEBHOOK = "webhook", "webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    event = models.CharField(max_length=10, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.alert_id} {self.event} by {self.channel}: {self.status}"


class AlertNotification(OutboxNotification):
    """The metric alerts' outbox."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "event", "channel"], name="alertnotification_once"
            )
        ]


class StatusReport(models.Model):
    """A stakeholder status report for a period, saved as it was sent: ``content`` is the data
    (what the API returns), ``html`` the rendered body, so reopening it shows exactly what its
    readers got, whatever the data or the templates say later."""

    slug = models.SlugField(max_length=60, unique=True, help_text="2026-w48, 2026-11, ...")
    period_start = models.DateField()
    period_end = models.DateField()
    content = models.JSONField()
    html = models.TextField()
    scheduled = models.BooleanField(
        default=False, help_text="made by the digest task (no author), not saved by a person"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipients = models.JSONField(default=list, blank=True, help_text="usernames it was emailed to")

    class Meta:
        ordering = ["-period_end", "-created_at"]
        constraints = [
            # Two digest runs racing for one period keep one report: the loser reuses it.
            models.UniqueConstraint(
                fields=["period_start", "period_end"],
                condition=models.Q(scheduled=True),
                name="statusreport_one_scheduled_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"Status report {self.slug}"


class DigestSubscription(models.Model):
    """How often a user gets the status report by email. Stakeholders without a row get it
    weekly on Mondays (the row appears when the first one is sent)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly (the previous Monday to Sunday)"
        DAILY = "daily", "Daily (yesterday)"
        MONTHLY = "monthly", "Monthly (the previous calendar month, on the 1st)"
        OFF = "off", "Off"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="status_digest"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="weekly digests: the day"
    )
    last_sent_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.frequency}"


# Service level objectives live in their own package (docs/slos.md); imported here so Django
# registers their models with this app.
from reporting.slos.models import Slo, SloAlert, SloNotification  # noqa: E402, F401
