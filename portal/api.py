"""REST API for the shared core: teams, services, environments, addressed by slug."""

from __future__ import annotations

from django.db.models import Count
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from portal import services
from portal.access import access_for, visible_services, visible_teams
from portal.filtersets import EnvironmentFilterSet, ServiceFilterSet, TeamFilterSet
from portal.models import Environment, Service, Team
from portal.strict_fields import StrictModelSerializer

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"


class TeamSerializer(StrictModelSerializer):
    service_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Team
        fields = ["name", "slug", "description", "service_count", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False}}


class ServiceSerializer(StrictModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())

    class Meta:
        model = Service
        fields = [
            "name",
            "slug",
            "team",
            "description",
            "tier",
            "repository_url",
            "default_branch",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A team the caller cannot see is an unknown slug: 400, with no hint that it exists.
            fields["team"].queryset = visible_teams(request.user)
        return fields


class EnvironmentSerializer(StrictModelSerializer):
    class Meta:
        model = Environment
        fields = ["name", "slug", "position", "is_production", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "slug": {"required": False},
            "position": {"required": False},
            "is_production": {
                "required": False,
                "help_text": "Defaults to true for the names `production` and `prod` (any case).",
            },
        }


class RoleWritePermission(permissions.BasePermission):
    """Asks the viewset whether the caller's role may write at all, before input is read."""

    message = "Your role does not allow this change."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return view.role_may_write(access_for(request.user))


class CoreViewSet(viewsets.ModelViewSet):
    """Slug lookups, role checks, and writes delegated to the services module."""

    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    permission_classes = [*viewsets.ModelViewSet.permission_classes, RoleWritePermission]

    @property
    def access(self):
        return access_for(self.request.user)

    def role_may_write(self, access) -> bool:
        raise NotImplementedError

    def require(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied(RoleWritePermission.message)


class TeamViewSet(CoreViewSet):
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return visible_teams(self.request.user).annotate(service_count=Count("services"))

    def role_may_write(self, access) -> bool:
        if self.action in {"update", "partial_update"}:
            return access.can_edit_teams()
        return access.can_manage_teams()

    def perform_create(self, serializer):
        team = services.team_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=team.pk)

    def perform_update(self, serializer):
        services.team_update(
            actor=self.request.user, team=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.team_delete(actor=self.request.user, team=instance)


class ServiceViewSet(CoreViewSet):
    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    ordering_fields = ["name", "slug", "tier", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return visible_services(self.request.user).select_related("team")

    def role_may_write(self, access) -> bool:
        return access.is_lead or bool(access.team_ids)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        self.require(self.access.can_create_service_in(data["team"]))
        serializer.instance = services.service_create(actor=self.request.user, **data)

    def perform_update(self, serializer):
        service, data = serializer.instance, serializer.validated_data
        self.require(self.access.can_edit_service(service))
        if "team" in data:
            self.require(self.access.can_create_service_in(data["team"]))
        services.service_update(actor=self.request.user, service=service, data=data)

    def perform_destroy(self, instance):
        self.require(self.access.can_delete_service(instance))
        services.service_delete(actor=self.request.user, service=instance)


class EnvironmentViewSet(CoreViewSet):
    serializer_class = EnvironmentSerializer
    filterset_class = EnvironmentFilterSet
    queryset = Environment.objects.all()
    ordering_fields = ["position", "name"]
    ordering = ["position", "name"]

    def role_may_write(self, access) -> bool:
        return access.can_manage_environments()

    def perform_create(self, serializer):
        serializer.instance = services.environment_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.environment_update(
            actor=self.request.user,
            environment=serializer.instance,
            data=serializer.validated_data,
        )

    def perform_destroy(self, instance):
        services.environment_delete(actor=self.request.user, environment=instance)
