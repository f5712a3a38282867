"""Lifecycle policies: versioned text plus machine-checked rules over the delivery data, the
rules' results per service and day (the compliance scorecard and its trend), and waivers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.models import Service


class Policy(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """The policy's text as it stood; the latest version is in force."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="policy_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.policy} v{self.number}"


class RuleKind(models.TextChoices):
    PROD_FROM_DEFAULT_BRANCH = (
        "prod_from_default_branch",
        "Production deployments come from the default branch",
    )
    SECURITY_SCAN_ON_DEPLOYED_COMMIT = (
        "security_scan_on_deployed_commit",
        "A security scan ran on the deployed commit",
    )
    APPROVAL_FOR_TIER = ("approval_for_tier", "Services of a tier deploy through an approval stage")
    DEFAULT_BRANCH_RED_HOURS = (
        "default_branch_red_hours",
        "The default branch is not red for more than N hours",
    )
    DEPLOYMENT_CARRIES_CHANGES = (
        "deployment_carries_changes",
        "Each production deployment carries its changes",
    )


class PolicyRule(models.Model):
    """A machine-checked rule of a policy; ``params`` as the kind documents them."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="rules")
    key = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=40, choices=RuleKind.choices)
    params = models.JSONField(default=dict, blank=True)
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="how far back the delivery data is checked"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["policy", "key"]

    def __str__(self) -> str:
        return self.key


class RuleResult(models.Model):
    """A rule's verdict on a service for a day (rewritten on each evaluation that day): the
    latest row is the scorecard, the rows over time its trend."""

    class Outcome(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        WAIVED = "waived", "Waived"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="results")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="rule_results")
    day = models.DateField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    checked = models.PositiveIntegerField(default=0, help_text="items checked (deployments...)")
    failing = models.PositiveIntegerField(default=0)
    evidence = models.JSONField(
        default=list, blank=True, help_text="the failing items: what, which run or deployment"
    )
    waiver = models.ForeignKey(
        "Waiver", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    evaluated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "rule", "service"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "service", "day"], name="rule_result_per_day")
        ]
        indexes = [models.Index(fields=["service", "-day"])]

    def __str__(self) -> str:
        return f"{self.rule} on {self.service}, {self.day}: {self.outcome}"


class Waiver(models.Model):
    """An exception to a rule for a service, until ``expires_on`` (inclusive) once granted."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        GRANTED = "granted", "Granted"
        REFUSED = "refused", "Refused"

    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="waivers")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="waivers")
    reason = models.TextField()
    expires_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.rule} for {self.service} until {self.expires_on}"

    @property
    def is_expired(self) -> bool:
        return self.expires_on < timezone.localdate()

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.GRANTED and not self.is_expired
