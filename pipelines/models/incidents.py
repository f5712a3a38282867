"""Production support around ``Incident`` (models/delivery.py): its timeline, the post-incident
review with its actions, and the review policy (which severities need a review).

An incident comes from a source (labelled issues, the push API, Alertmanager, PagerDuty,
Opsgenie) or is opened in the portal; the source kinds live on ``CISource.Kind``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pipelines.models.delivery import Incident, Severity
from portal.models import Team


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: a state change or an update, who and when.

    ``dedupe_key`` makes entries from tools idempotent: the same notification sent again
    (Alertmanager re-sends firing alerts every ``repeat_interval``) adds nothing."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        MITIGATED = "mitigated", "Mitigated"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        TRIAGED = "triaged", "Triaged"  # severity, owner team or commander set
        UPDATE = "update", "Update"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(
        max_length=200, blank=True, help_text="who, as the tool names them (no portal user)"
    )
    text = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="incident_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def who(self) -> str:
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.username
        return self.actor_name


class ReviewPolicy(models.Model):
    """Which severities require a post-incident review, and how soon (one row, edited by
    leads; ``current()`` creates it with the defaults)."""

    required_severities = models.JSONField(default=list, blank=True)
    due_days = models.PositiveIntegerField(default=5, help_text="days after resolution")
    updated_at = models.DateTimeField(auto_now=True)

    DEFAULT_SEVERITIES = [Severity.SEV1.value, Severity.SEV2.value]

    def __str__(self) -> str:
        return f"Reviews required for {', '.join(self.required_severities) or 'no severity'}"

    @classmethod
    def current(cls) -> ReviewPolicy:
        policy = cls.objects.order_by("pk").first()
        return policy or cls.objects.create(required_severities=list(cls.DEFAULT_SEVERITIES))


class PostIncidentReview(models.Model):
    """The blameless review of one incident: impact, timeline, causes, what went well."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    impact = models.TextField(blank=True)
    timeline_summary = models.TextField(blank=True)
    causes = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    went_badly = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Review of {self.incident}"


class ReviewAction(models.Model):
    """Something the review decided to do, with an owner and a due date; it can become a
    roadmap initiative, a maturity improvement action or a training need (linked here)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="actions")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="review_actions")
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    initiative = models.ForeignKey(
        "roadmap.Initiative", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    improvement_action = models.ForeignKey(
        "maturity.ImprovementAction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    training_item = models.ForeignKey(
        "training.TrainingItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_on < timezone.localdate()
