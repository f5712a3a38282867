"""POC reviews (a tool or technique tried against a problem, scored on weighted criteria by
evaluators, then decided) and the technology radar their decisions move."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from portal.models import Service, Team


class Ring(models.TextChoices):
    """Radar rings, innermost first."""

    ADOPT = "adopt", "Adopt"
    TRIAL = "trial", "Trial"
    ASSESS = "assess", "Assess"
    HOLD = "hold", "Hold"


class Outcome(models.TextChoices):
    ADOPT = "adopt", "Adopt"
    TRIAL = "trial", "Trial"
    ASSESS = "assess", "Assess"
    HOLD = "hold", "Hold"
    REJECT = "reject", "Reject"


class Quadrant(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class RadarEntry(models.Model):
    """A technology on the radar; ``ring`` is where it stands now, ``moves`` how it got there."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    quadrant = models.ForeignKey(Quadrant, on_delete=models.PROTECT, related_name="entries")
    ring = models.CharField(max_length=10, choices=Ring.choices)
    description = models.TextField(blank=True)
    adoption_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="job or stage names that show the tool in use: shell-style, e.g. *trivy*",
    )
    created_at = models.DateTimeField(default=timezone.now)
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["quadrant__position", "name"]
        verbose_name_plural = "radar entries"

    def __str__(self) -> str:
        return self.name


class RingMove(models.Model):
    """One placement of an entry: its first (``from_ring`` blank) or a move between rings."""

    entry = models.ForeignKey(RadarEntry, on_delete=models.CASCADE, related_name="moves")
    from_ring = models.CharField(max_length=10, choices=Ring.choices, blank=True)
    to_ring = models.CharField(max_length=10, choices=Ring.choices)
    reason = models.TextField()
    poc = models.ForeignKey(
        "Poc", on_delete=models.SET_NULL, null=True, blank=True, related_name="ring_moves"
    )
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["moved_at", "pk"]

    def __str__(self) -> str:
        return f"{self.entry}: {self.from_ring or 'new'} -> {self.to_ring}"


class Poc(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved to run"
        RUNNING = "running", "Running"
        IN_REVIEW = "in_review", "In review"
        DECIDED = "decided", "Decided"
        WITHDRAWN = "withdrawn", "Withdrawn"

    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    tool = models.CharField(max_length=200, help_text="the tool or technique tried")
    quadrant = models.ForeignKey(Quadrant, on_delete=models.PROTECT, related_name="+")
    problem = models.TextField(help_text="the problem it addresses")
    problem_key = models.SlugField(
        max_length=100, blank=True, help_text="POCs for the same problem share it, to be compared"
    )
    hypothesis = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="pocs")
    scope_teams = models.ManyToManyField(Team, blank=True, related_name="+")
    scope_services = models.ManyToManyField(Service, blank=True, related_name="+")
    starts_on = models.DateField()
    ends_on = models.DateField(help_text="end of the time box")
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    actual_cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    evaluators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    radar_entry = models.ForeignKey(
        RadarEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="pocs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        """Still being tried (or not yet reviewed) after its time box ended."""
        open_states = {self.Status.APPROVED, self.Status.RUNNING}
        return self.status in open_states and self.ends_on < timezone.localdate()


class Criterion(models.Model):
    poc = models.ForeignKey(Poc, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    weight = models.DecimalField(max_digits=6, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["poc", "key"], name="criterion_once"),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (x{self.weight})"


class Evaluation(models.Model):
    """One evaluator's scores for a POC; one per evaluator."""

    poc = models.ForeignKey(Poc, on_delete=models.CASCADE, related_name="evaluations")
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["poc", "evaluator"], name="evaluation_once")]

    def __str__(self) -> str:
        return f"{self.poc} by {self.evaluator}"


class Score(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="scores")
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "criterion"], name="score_once"),
            models.CheckConstraint(
                condition=models.Q(score__gte=1, score__lte=5), name="score_one_to_five"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.criterion.key}: {self.score}"


class Evidence(models.Model):
    """What backs the evaluation: a link, a file (kept in Postgres) or a measured result."""

    poc = models.ForeignKey(Poc, on_delete=models.CASCADE, related_name="evidence")
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True)
    measurement = models.CharField(
        max_length=300, blank=True, help_text='a measured result, e.g. "p95 build 9 min -> 4 min"'
    )
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    file_data = models.BinaryField(null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.title


class Decision(models.Model):
    poc = models.OneToOneField(Poc, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    rationale = models.TextField()
    conditions = models.TextField(blank=True)
    review_by = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.poc}: {self.outcome}"


class FollowUp(models.Model):
    """Work a decision asks for; a training follow-up becomes an item of the team's plan."""

    class Kind(models.TextChoices):
        TRAINING = "training", "Training need"
        ROADMAP = "roadmap", "Roadmap item"
        PIPELINE_TEMPLATE = "pipeline_template", "Pipeline template change"

    poc = models.ForeignKey(Poc, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=300)
    training_item = models.ForeignKey(
        "training.TrainingItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.title
