"""Maturity models (versioned data: areas, capabilities, five levels, automatic checks) and
team assessments against one model version, with ratings, targets and improvement actions.

A model version that an assessment uses is never edited in place: editing makes a new version
(maturity.services), so past assessments keep the words they were rated against.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from portal.models import Team

LEVELS = range(1, 6)
level_validators = [MinValueValidator(1), MaxValueValidator(5)]
PERIOD = RegexValidator(r"^\d{4}-Q[1-4]$", "A quarter such as 2026-Q3.")


def quarter_of(day: date) -> str:
    """The period (as PERIOD spells it) that ``day`` falls in."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


class MaturityModel(models.Model):
    slug = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="maturitymodel_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Area(models.Model):
    model = models.ForeignKey(MaturityModel, on_delete=models.CASCADE, related_name="areas")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="area_key")]

    def __str__(self) -> str:
        return self.name


class Capability(models.Model):
    model = models.ForeignKey(MaturityModel, on_delete=models.CASCADE, related_name="capabilities")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="capabilities")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    # An automatic check against measured data (maturity.checks): the metric, a job-name
    # pattern for stage_share, and the values levels 2 to 5 need.
    check_metric = models.CharField(max_length=50, blank=True)
    check_pattern = models.CharField(max_length=200, blank=True)
    check_thresholds = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["area__position", "position"]
        constraints = [models.UniqueConstraint(fields=["model", "key"], name="capability_key")]

    def __str__(self) -> str:
        return self.name


class Level(models.Model):
    capability = models.ForeignKey(Capability, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(validators=level_validators)
    description = models.TextField()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["capability", "number"], name="level_number")
        ]

    def __str__(self) -> str:
        return f"{self.capability} {self.number}"


class Assessment(models.Model):
    """One team against one model version for one quarter: draft -> submitted -> reviewed,
    or sent back (returned) to be edited and submitted again."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        RETURNED = "returned", "Returned"
        REVIEWED = "reviewed", "Reviewed"

    slug = models.SlugField(max_length=120, unique=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="assessments")
    model = models.ForeignKey(MaturityModel, on_delete=models.PROTECT, related_name="assessments")
    period = models.CharField(max_length=7, validators=[PERIOD])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "period"], name="assessment_team_period")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.period}"

    @property
    def is_editable(self) -> bool:
        return self.status in {self.Status.DRAFT, self.Status.RETURNED}


class Rating(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="ratings")
    capability = models.ForeignKey(Capability, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(null=True, blank=True, validators=level_validators)
    comment = models.TextField(blank=True)
    evidence = models.JSONField(default=list, blank=True, help_text="links")
    suggested_level = models.PositiveSmallIntegerField(null=True, blank=True)
    check_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["capability__area__position", "capability__position"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "capability"], name="rating_once")
        ]

    def __str__(self) -> str:
        return f"{self.assessment} {self.capability.key}: {self.level}"


class EvidenceFile(models.Model):
    """A file backing a rating, kept in Postgres with the rating (transactional, backed up
    together, and served only through the assessment's access check)."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.name


class TargetLevel(models.Model):
    """The level leads aim for on a capability (by key, across versions of a model)."""

    model_slug = models.SlugField(max_length=100)
    capability_key = models.SlugField(max_length=100)
    level = models.PositiveSmallIntegerField(validators=level_validators)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_slug", "capability_key"], name="target_once")
        ]

    def __str__(self) -> str:
        return f"{self.capability_key} -> {self.level}"


class ImprovementAction(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="improvement_actions")
    capability_key = models.SlugField(max_length=100)
    assessment = models.ForeignKey(
        Assessment, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "due_date"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == self.Status.OPEN
            and self.due_date is not None
            and self.due_date < timezone.localdate()
        )
