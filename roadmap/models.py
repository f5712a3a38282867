"""The DevOps roadmap (themes -> initiatives -> deliverables), its versions and their approval,
and deliverables with cost entries, quality targets and reviews.

The plan is edited in place (the draft); submitting freezes it as a snapshot on the version, so
what stakeholders approve never changes under them. Decisions and reviews are append-only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal.models import Service, Team


class Roadmap(models.Model):
    class Rule(models.TextChoices):
        ALL = "all", "All named approvers"
        QUORUM = "quorum", "A quorum of them"

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    approvers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="roadmaps_to_approve", blank=True
    )
    approval_rule = models.CharField(max_length=10, choices=Rule.choices, default=Rule.ALL)
    quorum = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="approvals needed when the rule is a quorum"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Theme(models.Model):
    roadmap = models.ForeignKey(Roadmap, on_delete=models.CASCADE, related_name="themes")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["roadmap", "slug"], name="theme_slug_per_roadmap")
        ]

    def __str__(self) -> str:
        return self.name


class Initiative(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="initiatives")
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    teams = models.ManyToManyField(Team, blank=True, related_name="initiatives")
    starts_on = models.DateField()
    ends_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents"
    )
    improvement_actions = models.ManyToManyField(
        "maturity.ImprovementAction", blank=True, related_name="initiatives"
    )
    poc_decisions = models.ManyToManyField("poc.Decision", blank=True, related_name="initiatives")
    change_requests = models.ManyToManyField(
        "pipelines.ChangeRequest", blank=True, related_name="initiatives"
    )

    class Meta:
        ordering = ["starts_on", "title"]

    def __str__(self) -> str:
        return self.title


class Deliverable(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted for review"
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned"

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="deliverables"
    )
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="deliverables")
    services = models.ManyToManyField(Service, blank=True, related_name="deliverables")
    starts_on = models.DateField()
    due_on = models.DateField()
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="% done"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "title"]

    def __str__(self) -> str:
        return self.title


class CostEntry(models.Model):
    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="costs")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    incurred_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incurred_on", "pk"]
        verbose_name_plural = "cost entries"

    def __str__(self) -> str:
        return f"{self.amount} on {self.incurred_on}"


class QualityTarget(models.Model):
    """Measured (a metric of the deliverable's services over a window) or checked by a reviewer."""

    class Metric(models.TextChoices):
        CHANGE_FAILURE_RATE = "change_failure_rate", "Change failure rate (%)"
        DEPLOYS_PER_DAY = "deploys_per_day", "Production deploys per day"
        LEAD_TIME_HOURS = "lead_time_hours", "Lead time for changes (hours, median)"
        RECOVERY_HOURS = "recovery_hours", "Failed deployment recovery (hours, median)"
        REWORK_RATE = "rework_rate", "Deployment rework rate (%)"
        SUCCESS_RATE = "success_rate", "Pipeline success rate (%)"
        DURATION_P95_MINUTES = "duration_p95_minutes", "Pipeline duration p95 (minutes)"

    class Comparison(models.TextChoices):
        AT_MOST = "lte", "at most"
        AT_LEAST = "gte", "at least"

    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="targets")
    name = models.CharField(max_length=200)
    metric = models.CharField(
        max_length=30, choices=Metric.choices, blank=True, help_text="blank: checked by a reviewer"
    )
    comparison = models.CharField(max_length=3, choices=Comparison.choices, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(default=30)
    # A checked target's verdict, given by a lead.
    met = models.BooleanField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    check_note = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_measured(self) -> bool:
        return bool(self.metric)


class DeliverableReview(models.Model):
    """One step of a deliverable's review, append-only: submitted, accepted or returned."""

    class Step(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned"

    deliverable = models.ForeignKey(Deliverable, on_delete=models.CASCADE, related_name="reviews")
    step = models.CharField(max_length=10, choices=Step.choices)
    comment = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.step} by {self.by}"


class RoadmapVersion(models.Model):
    """A numbered version: the draft being edited, or a frozen snapshot awaiting or past a
    decision. At most one draft and one submitted version per roadmap at a time."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Awaiting approval"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    roadmap = models.ForeignKey(Roadmap, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    snapshot = models.JSONField(null=True, blank=True, help_text="the plan as submitted")
    note = models.TextField(blank=True, help_text="what the lead says about this version")
    # The approval rule in force when it was submitted: changing the roadmap's rule later does
    # not change how a version already in front of stakeholders is decided.
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    approval_rule = models.CharField(max_length=10, choices=Roadmap.Rule.choices, blank=True)
    quorum = models.PositiveSmallIntegerField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["roadmap", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["roadmap", "number"], name="version_number_once"),
            models.UniqueConstraint(
                fields=["roadmap"],
                condition=models.Q(status="draft"),
                name="one_draft_per_roadmap",
            ),
            models.UniqueConstraint(
                fields=["roadmap"],
                condition=models.Q(status="submitted"),
                name="one_submitted_per_roadmap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.roadmap} v{self.number}"


class VersionDecision(models.Model):
    """A stakeholder's decision on a submitted version: append-only, one per person."""

    class Kind(models.TextChoices):
        APPROVE = "approve", "Approved"
        APPROVE_WITH_COMMENTS = "approve_with_comments", "Approved with comments"
        REQUEST_CHANGES = "request_changes", "Requested changes"

    version = models.ForeignKey(RoadmapVersion, on_delete=models.PROTECT, related_name="decisions")
    decider = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=20, help_text="the decider's role when deciding")
    kind = models.CharField(max_length=25, choices=Kind.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "decider"], name="one_decision_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.decider}"

    @property
    def approves(self) -> bool:
        return self.kind != self.Kind.REQUEST_CHANGES
