"""Skills (linked to maturity capabilities and tools), the skills matrix (each person x skill,
self-rated and lead-confirmed, 0-4), target proficiency per role, and training plans per team
and quarter with their items, cost and completion evidence."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from maturity.models import PERIOD
from portal.models import Role, Team

PROFICIENCY = [MinValueValidator(0), MaxValueValidator(4)]
PROFICIENCY_NAMES = {0: "none", 1: "aware", 2: "practising", 3: "proficient", 4: "expert"}


class Skill(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    capability_key = models.SlugField(
        max_length=100, blank=True, help_text="the maturity capability it builds"
    )
    tool = models.CharField(max_length=200, blank=True, help_text="a tool it is about, if any")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TargetProficiency(models.Model):
    """The proficiency a role should reach in a skill."""

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="targets")
    role = models.CharField(max_length=20, choices=Role.choices)
    level = models.PositiveSmallIntegerField(validators=PROFICIENCY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["skill", "role"], name="target_role")]

    def __str__(self) -> str:
        return f"{self.skill} for {self.role}: {self.level}"


class SkillRating(models.Model):
    """One person's proficiency in one skill: rated by themselves, confirmed by a lead."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_ratings"
    )
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="ratings")
    self_level = models.PositiveSmallIntegerField(validators=PROFICIENCY)
    confirmed_level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=PROFICIENCY
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__username", "skill__name"]
        constraints = [models.UniqueConstraint(fields=["user", "skill"], name="skill_rating_once")]

    def __str__(self) -> str:
        return f"{self.user} {self.skill}: {self.level}"

    @property
    def level(self) -> int:
        """What counts: the confirmed level, else the self-rating."""
        return self.self_level if self.confirmed_level is None else self.confirmed_level


class TrainingPlan(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="training_plans")
    period = models.CharField(max_length=7, validators=[PERIOD])
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period", "team__name"]
        constraints = [models.UniqueConstraint(fields=["team", "period"], name="plan_once")]

    def __str__(self) -> str:
        return f"{self.team} {self.period}"


class TrainingItem(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course"
        WORKSHOP = "workshop", "Workshop"
        PAIRING = "pairing", "Pairing"
        CERTIFICATION = "certification", "Certification"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    plan = models.ForeignKey(TrainingPlan, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    skill = models.ForeignKey(
        Skill, on_delete=models.SET_NULL, null=True, blank=True, related_name="items"
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    evidence = models.URLField(max_length=500, blank=True, help_text="completion evidence")
    reason = models.TextField(blank=True, help_text="why: the gap it closes")

    class Meta:
        ordering = ["starts_on", "pk"]

    def __str__(self) -> str:
        return self.title
