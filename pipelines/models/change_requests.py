"""Customer change requests, from intake to the production deployment that delivers them.

Changes and deployments that mention a request's key (``CR-123`` in a commit message, pull
request title or deployment ref) are linked to it automatically; others are linked by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.models import Team


class ChangeRequest(models.Model):
    class Status(models.TextChoices):
        INTAKE = "intake", "Intake"
        ACCEPTED = "accepted", "Accepted"
        IN_PROGRESS = "in_progress", "In progress"
        DELIVERED = "delivered", "Delivered"
        REJECTED = "rejected", "Rejected"

    class Urgency(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    class Value(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    number = models.PositiveIntegerField(unique=True, help_text="the key is CR-<number>")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    requester = models.CharField(max_length=200, help_text="the customer who asked")
    value = models.CharField(max_length=10, choices=Value.choices, default=Value.MEDIUM)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="change_requests")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INTAKE)
    triage_comment = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(
        null=True, blank=True, help_text="finish of the first production deployment carrying it"
    )
    delivered_by = models.ForeignKey(
        "Deployment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Links made by hand; those by key are found from the records' text.
    linked_changes = models.ManyToManyField("Change", blank=True, related_name="change_requests")
    linked_deployments = models.ManyToManyField(
        "Deployment", blank=True, related_name="change_requests"
    )

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return f"CR-{self.number}"
