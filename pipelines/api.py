"""REST API of the pipelines app: CI sources (admins), the push API, delivery record lists."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pipelines import selectors, services
from pipelines.filtersets import (
    ChangeFilterSet,
    JobRunFilterSet,
    PipelineRunFilterSet,
)
from pipelines.models import Change, CISource, JobRun, PipelineRun
from portal.access import access_for, visible_services
from portal.models import Service
from portal.strict_fields import StrictCharField, StrictModelSerializer

# Every kind a person sets up: CI systems, monitoring and paging tools, Prometheus for SLOs.
CONNECTOR_KINDS = [kind for kind in CISource.Kind if kind not in CISource.BUILT_IN_KINDS]


class IsAdminRole(permissions.BasePermission):
    message = "Only admins manage CI sources."

    def has_permission(self, request, view) -> bool:
        return access_for(request.user).is_admin


# --- CI sources ----------------------------------------------------------------------------------


class RepositorySerializer(serializers.Serializer):
    name = StrictCharField(max_length=300, help_text="owner/repo, project path or id, job name")
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())

    def to_representation(self, instance):
        return {"name": instance["name"], "service": instance["service"]}


class CISourceSerializer(StrictModelSerializer):
    kind = serializers.ChoiceField(choices=CONNECTOR_KINDS)
    token = StrictCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Write-only. Jenkins: user:apitoken.",
    )
    webhook_secret = StrictCharField(
        write_only=True, required=False, allow_blank=True, help_text="Write-only."
    )
    repositories = RepositorySerializer(many=True, required=False)
    webhook_url = serializers.SerializerMethodField()
    record_counts = serializers.SerializerMethodField()

    class Meta:
        model = CISource
        fields = [
            "kind",
            "name",
            "slug",
            "base_url",
            "token",
            "webhook_secret",
            "repositories",
            "poll_interval_seconds",
            "deployment_pattern",
            "incident_label",
            "service_label",
            "min_severity",
            "backfill_days",
            "is_active",
            "has_token",
            "has_webhook_secret",
            "webhook_url",
            "last_success_at",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "repository_errors",
            "record_counts",
        ]
        read_only_fields = [
            "has_token",
            "has_webhook_secret",
            "last_success_at",
            "last_error",
            "last_error_at",
            "next_poll_at",
            "repository_errors",
        ]
        extra_kwargs = {"slug": {"required": False}, "base_url": {"required": False}}

    def get_webhook_url(self, source) -> str:
        if source.kind == CISource.Kind.PROMETHEUS:
            return ""  # queried by SLOs, it sends nothing
        path = reverse("webhook", args=[source.kind, source.slug])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_record_counts(self, source) -> dict[str, int]:
        return selectors.source_record_counts(source=source)

    def validate_repositories(self, value):
        names = [entry["name"] for entry in value]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Each repository may appear once.")
        return [{"name": entry["name"], "service": entry["service"].slug} for entry in value]


class CISourceViewSet(viewsets.ModelViewSet):
    serializer_class = CISourceSerializer
    permission_classes = [*viewsets.ModelViewSet.permission_classes, IsAdminRole]
    lookup_field = "slug"
    ordering = ["name"]

    def get_queryset(self):
        return CISource.objects.exclude(kind__in=CISource.BUILT_IN_KINDS)

    def perform_create(self, serializer):
        serializer.instance = services.source_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.source_update(
            actor=self.request.user, source=serializer.instance, data=serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.source_delete(actor=self.request.user, source=instance)

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Sync queued.")})
    @action(detail=True, methods=["post"])
    def sync(self, request, slug=None):
        source = self.get_object()
        full = request.query_params.get("full") in {"1", "true"}
        sync_run = services.sync_source_queue(source=source, trigger="manual", full=full)
        return Response(
            {"sync_run": sync_run.pk, "status": sync_run.status}, status=status.HTTP_202_ACCEPTED
        )


# --- records ---------------------------------------------------------------------------------


class ScopedRecordViewSet(
    viewsets.GenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin
):
    """Lists of records of the services the caller may see."""

    model = None
    related = ("service", "service__team")

    def get_queryset(self):
        visible = visible_services(self.request.user)
        return self.model.objects.filter(service__in=visible).select_related(*self.related)


class PipelineRunSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = PipelineRun
        fields = [
            "id",
            "source",
            "external_id",
            "service",
            "name",
            "status",
            "branch",
            "sha",
            "event",
            "attempt",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]


class PipelineRunViewSet(ScopedRecordViewSet):
    model = PipelineRun
    related = ("service", "source")
    serializer_class = PipelineRunSerializer
    filterset_class = PipelineRunFilterSet
    ordering_fields = ["created_at", "finished_at"]
    ordering = ["-created_at"]


class JobRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobRun
        fields = [
            "id",
            "run",
            "external_id",
            "name",
            "stage",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]


class JobRunViewSet(ScopedRecordViewSet):
    serializer_class = JobRunSerializer
    filterset_class = JobRunFilterSet
    ordering = ["-started_at"]

    def get_queryset(self):
        return JobRun.objects.filter(run__service__in=visible_services(self.request.user))


class ChangeSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Change
        fields = [
            "id",
            "service",
            "sha",
            "committed_at",
            "title",
            "pull_request",
            "merged_at",
            "url",
        ]


class ChangeViewSet(ScopedRecordViewSet):
    model = Change
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilterSet
    ordering = ["-committed_at"]
