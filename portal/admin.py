"""Admin for the shared core. Edits go through the audit log; token keys are never displayed."""

from __future__ import annotations

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from portal.audit import audit_record, audit_snapshot
from portal.models import (
    ApiToken,
    AuditEvent,
    Environment,
    Membership,
    Service,
    Team,
    TokenScope,
)


class AuditedAdmin(admin.ModelAdmin):
    """Records admin saves and deletes in the audit log, like the services do."""

    def save_model(self, request, obj, form, change):
        before = audit_snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        what = obj._meta.model_name
        audit_record(
            actor=request.user,
            action=f"{what}.{'update' if change else 'create'}",
            instance=obj,
            before=before,
            after=audit_snapshot(obj),
        )

    def delete_model(self, request, obj):
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.delete",
            instance=obj,
            before=audit_snapshot(obj),
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = ["name", "slug", "team", "tier", "default_branch"]
    list_filter = ["team", "tier"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdmin):
    list_display = ["name", "slug", "position", "is_production"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team"]
    autocomplete_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TokenScopeInline(admin.StackedInline):
    model = TokenScope
    can_delete = False


admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(DrfTokenAdmin):
    """DRF's token admin without the key: a token is shown once, to its owner, never here."""

    list_display = ["user", "created", "scope"]
    fields = ["user"]
    inlines = [TokenScopeInline]
