"""Admin for alert rules (edited on the Alerts page too) and the alerts they raised."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import AuditedAdmin
from reporting.models import Alert, AlertRule


@admin.register(AlertRule)
class AlertRuleAdmin(AuditedAdmin):
    list_display = ["name", "kind", "metric", "threshold", "team", "service", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["rule", "subject", "opened_at", "resolved_at"]
    list_filter = ["rule"]
    readonly_fields = ["rule", "subject", "message", "value", "opened_at", "resolved_at"]

    def has_add_permission(self, request) -> bool:
        return False
