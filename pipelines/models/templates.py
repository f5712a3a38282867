"""Pipeline templates: the designed stages a service's pipeline should have, versioned.

A template's versions are immutable: editing a template makes its next version, and services
assigned to the template are checked against its latest version.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.models import Environment, Service, Team


class StageKind(models.TextChoices):
    BUILD = "build", "Build"
    UNIT_TEST = "unit_test", "Unit test"
    INTEGRATION_TEST = "integration_test", "Integration test"
    STATIC_ANALYSIS = "static_analysis", "Static analysis / SAST"
    DEPENDENCY_SCAN = "dependency_scan", "Dependency scan"
    CONTAINER_SCAN = "container_scan", "Container scan"
    PERFORMANCE_TEST = "performance_test", "Performance test"
    DEPLOY = "deploy", "Deploy to an environment"
    MANUAL_APPROVAL = "manual_approval", "Manual approval"


class PipelineTemplate(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner_team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="pipeline_templates"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateVersion(models.Model):
    template = models.ForeignKey(
        PipelineTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    note = models.TextField(blank=True, help_text="what changed in this version")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="template_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class TemplateStage(models.Model):
    """One stage of a version, in order, with its gate and (for deploys) its environment."""

    version = models.ForeignKey(TemplateVersion, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=StageKind.choices)
    gate = models.CharField(
        max_length=300,
        blank=True,
        help_text='e.g. "coverage >= 80%", "critical_vulnerabilities == 0", '
        '"p95_latency_delta <= 10%"; several joined by "and"',
    )
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    match = models.CharField(
        max_length=300,
        blank=True,
        help_text="job or stage names that show this stage ran: shell-style patterns separated "
        "by |, e.g. *trivy*|*container-scan*; blank: the kind's usual names",
    )

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="stage_position_once")
        ]

    def __str__(self) -> str:
        return self.name


class ServiceTemplate(models.Model):
    """A service's assigned template (checked against the template's latest version)."""

    service = models.OneToOneField(
        Service, on_delete=models.CASCADE, related_name="template_assignment"
    )
    template = models.ForeignKey(
        PipelineTemplate, on_delete=models.PROTECT, related_name="assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service__name"]

    def __str__(self) -> str:
        return f"{self.service} -> {self.template}"
