"""CI sources, what they sent (raw events, sync runs) and the normalised delivery records."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from pipelines.connectors.base import RunStatus
from portal import crypto
from portal.models import Environment, Service, Team

STATUS_CHOICES = [(status.value, status.value.title()) for status in RunStatus]


class CISource(models.Model):
    """A CI system the portal reads (poll) and listens to (webhooks), with its sync state."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub Actions"
        GITLAB = "gitlab", "GitLab CI"
        JENKINS = "jenkins", "Jenkins"
        PUSH = "push", "Push API"  # the built-in source of records pushed through the API
        # Monitoring and paging tools (issue 9): they bring incidents, not runs.
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        PAGERDUTY = "pagerduty", "PagerDuty"
        OPSGENIE = "opsgenie", "Opsgenie"
        PROMETHEUS = "prometheus", "Prometheus (SLO queries)"
        PORTAL = "portal", "Opened in the portal"  # the built-in source of hand-opened incidents

    # Created by the portal itself for records with no outside system: not listed as sources.
    BUILT_IN_KINDS = (Kind.PUSH, Kind.PORTAL)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    base_url = models.URLField(max_length=500, blank=True)
    token_ciphertext = models.TextField(blank=True, editable=False)
    webhook_secret_ciphertext = models.TextField(blank=True, editable=False)
    repositories = models.JSONField(
        default=list, blank=True, help_text='[{"name": "owner/repo", "service": "<slug>"}]'
    )
    poll_interval_seconds = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(60)]
    )
    deployment_pattern = models.CharField(max_length=200, default=r"(?i)deploy", blank=True)
    incident_label = models.CharField(max_length=100, default="incident")
    # Monitoring sources: the alert label naming the service, and the least severity kept.
    service_label = models.CharField(max_length=100, default="service", blank=True)
    min_severity = models.CharField(
        max_length=10,
        blank=True,
        help_text="ignore alerts less severe than this portal severity (sev1..sev4); blank: none",
    )
    backfill_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    is_active = models.BooleanField(default=True)

    # Sync state, written by the engine in one UPDATE per outcome (hc's Channel.notify).
    sync_state = models.JSONField(default=dict, blank=True, editable=False)
    repository_errors = models.JSONField(default=dict, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "CI source"

    def __str__(self) -> str:
        return self.name

    # Secrets never leave the database in clear: only these accessors decrypt them.
    def get_token(self) -> str:
        return crypto.decrypt(self.token_ciphertext, purpose=f"cisource.token.{self.slug}")

    def set_token(self, value: str) -> None:
        self.token_ciphertext = crypto.encrypt(value, purpose=f"cisource.token.{self.slug}")

    def get_webhook_secret(self) -> str:
        return crypto.decrypt(
            self.webhook_secret_ciphertext, purpose=f"cisource.webhook_secret.{self.slug}"
        )

    def set_webhook_secret(self, value: str) -> None:
        self.webhook_secret_ciphertext = crypto.encrypt(
            value, purpose=f"cisource.webhook_secret.{self.slug}"
        )

    @property
    def has_token(self) -> bool:
        return bool(self.token_ciphertext)

    @property
    def has_webhook_secret(self) -> bool:
        return bool(self.webhook_secret_ciphertext)


class SyncRun(models.Model):
    """One sync of one source: a persisted run record shown in the UI (NetBox's Job)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCESS = "success"
        PARTIAL = "partial", "Partial (some repositories failed)"
        PAUSED = "paused", "Paused (rate limited)"
        FAILED = "failed"

    source = models.ForeignKey(CISource, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=20, default="poll")  # poll | manual | command
    full = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="deliveries of its task")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    repositories_done = models.PositiveIntegerField(default=0)
    repositories_total = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    items_fetched = models.PositiveIntegerField(default=0)
    items_new = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["source", "-queued_at"])]

    def __str__(self) -> str:
        return f"{self.source} sync {self.pk} ({self.status})"


class RawEvent(models.Model):
    """A payload exactly as received (poll item, webhook delivery or push), kept for replay."""

    class Origin(models.TextChoices):
        POLL = "poll"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    source = models.ForeignKey(CISource, on_delete=models.CASCADE, related_name="raw_events")
    origin = models.CharField(max_length=10, choices=Origin.choices)
    kind = models.CharField(max_length=100, help_text="connector item kind, or the webhook event")
    repository = models.CharField(max_length=300, blank=True)
    delivery_id = models.CharField(
        max_length=200, help_text="webhook delivery id, or the content hash of a poll"
    )
    payload = models.JSONField()
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="rawevent_delivery")
        ]
        indexes = [
            # The sweeper's query: deliveries still pending after a while.
            models.Index(
                fields=["received_at"],
                name="rawevent_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delivery_id[:12]} ({self.status})"


class DeliveryRecord(models.Model):
    """Shared fields of the records normalised from raw events."""

    source = models.ForeignKey(CISource, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=300)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PipelineRun(DeliveryRecord):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="pipeline_runs")
    name = models.CharField(max_length=300)
    branch = models.CharField(max_length=300, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=50, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(help_text="when the run was created (queued) upstream")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="pipelinerun_external")
        ]
        # (service, sha): the runs on one commit, for flaky jobs (reporting.raw_rows)
        indexes = [
            models.Index(fields=["service", "-created_at"]),
            models.Index(fields=["service", "sha"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.external_id}"


class JobRun(DeliveryRecord):
    run = models.ForeignKey(
        PipelineRun, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True
    )
    run_external_id = models.CharField(max_length=300)
    name = models.CharField(max_length=300)
    stage = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    runner = models.CharField(
        max_length=200, blank=True, help_text="runner label or kind, for CI cost rates"
    )

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="jobrun_external")
        ]
        indexes = [models.Index(fields=["source", "run_external_id"])]

    def __str__(self) -> str:
        return self.name


class Deployment(DeliveryRecord):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="deployments"
    )
    sha = models.CharField(max_length=64, blank=True)
    ref = models.CharField(max_length=300, blank=True)
    is_rework = models.BooleanField(default=False)
    run = models.ForeignKey(
        PipelineRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="deployments"
    )
    changes = models.ManyToManyField("Change", blank=True, related_name="deployments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        constraints = [
            # Per service: the push API's external ids are unique per service (issue 3).
            models.UniqueConstraint(
                fields=["source", "service", "external_id"], name="deployment_external"
            )
        ]
        indexes = [
            models.Index(fields=["service", "environment", "-finished_at"]),
            # a service's deployments in time order, whatever the environment (rollup spans)
            models.Index(fields=["service", "-finished_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.service} to {self.environment} ({self.external_id})"


class Change(models.Model):
    """A change (commit) of a service; ``committed_at`` is the earliest known start of work."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="changes")
    sha = models.CharField(max_length=64)
    committed_at = models.DateTimeField()
    title = models.CharField(max_length=500, blank=True)
    pull_request = models.URLField(max_length=500, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["-committed_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["service", "sha"], name="change_sha")]

    def __str__(self) -> str:
        return f"{self.sha[:10]} {self.title}"


class Severity(models.TextChoices):
    """Portal severities; tools' own (Alertmanager labels, PagerDuty urgency and priority,
    Opsgenie priority) are mapped onto these by each connector."""

    SEV1 = "sev1", "SEV1 (critical)"
    SEV2 = "sev2", "SEV2 (major)"
    SEV3 = "sev3", "SEV3 (minor)"
    SEV4 = "sev4", "SEV4 (low)"


class IncidentStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"


class Incident(models.Model):
    source = models.ForeignKey(CISource, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=300)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=500)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    deployment = models.ForeignKey(
        Deployment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
        help_text="the deployment that caused it, when known",
    )
    url = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Production support (issue 9, models/incidents.py): triage, state and its moments.
    severity = models.CharField(
        max_length=10, choices=Severity.choices, blank=True, help_text="blank: not triaged yet"
    )
    status = models.CharField(
        max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.TRIGGERED
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    owner_team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.TextField(blank=True, help_text="what the tool said (annotations, body)")
    labels = models.JSONField(default=dict, blank=True, help_text="the alert's labels, as sent")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "service", "external_id"], name="incident_external"
            )
        ]
        indexes = [models.Index(fields=["service", "opened_at"])]

    def __str__(self) -> str:
        return self.title
