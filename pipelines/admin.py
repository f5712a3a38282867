"""Admin for the pipelines app. Secrets are never shown; sources are edited on the Sources page
(which encrypts what is typed), so here they are read-only apart from switching them off."""

from __future__ import annotations

from django.contrib import admin

from pipelines.models import (
    Change,
    CISource,
    Deployment,
    Incident,
    JobRun,
    PipelineRun,
    RawEvent,
    SyncRun,
)
from portal.admin import AuditedAdmin


@admin.register(CISource)
class CISourceAdmin(AuditedAdmin):
    list_display = ["name", "kind", "slug", "is_active", "last_success_at", "next_poll_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug"]
    # token_ciphertext and webhook_secret_ciphertext are not editable, so never listed here.
    fields = [
        "kind",
        "name",
        "slug",
        "base_url",
        "repositories",
        "poll_interval_seconds",
        "backfill_days",
        "deployment_pattern",
        "incident_label",
        "is_active",
        "last_success_at",
        "last_error",
        "next_poll_at",
    ]
    readonly_fields = [
        "kind",
        "slug",
        "base_url",
        "repositories",
        "last_success_at",
        "last_error",
        "next_poll_at",
    ]

    def has_add_permission(self, request):
        return False  # add sources on the Sources page, which encrypts their secrets


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records come from CI systems; they are corrected there, or replayed, not edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["source", "status", "trigger", "queued_at", "finished_at", "items_new"]
    list_filter = ["status", "trigger", "source"]


@admin.register(RawEvent)
class RawEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "origin", "kind", "status", "received_at"]
    list_filter = ["status", "origin", "source"]
    search_fields = ["delivery_id", "kind", "repository"]


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "service", "status", "branch", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["external_id", "name", "sha"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "run", "status", "started_at"]
    list_filter = ["status"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "service", "environment", "status", "finished_at"]
    list_filter = ["status", "environment", "source"]
    search_fields = ["external_id", "sha"]


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    list_display = ["sha", "service", "committed_at", "title"]
    search_fields = ["sha", "title"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["title", "service", "opened_at", "resolved_at", "deployment"]
    list_filter = ["source"]
