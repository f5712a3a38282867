"""REST API of the pipelines app: CI sources (admins), the push API, delivery record lists."""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from pipelines import selectors, services
from pipelines.filtersets import (
    ChangeFilterSet,
    DeploymentFilterSet,
    IncidentFilterSet,
    JobRunFilterSet,
    PipelineRunFilterSet,
)
from pipelines.models import Change, CISource, Deployment, Incident, JobRun, PipelineRun
from portal.access import access_for, visible_services
from portal.models import Service
from portal.strict_fields import StrictBooleanField, StrictCharField, StrictModelSerializer

CONNECTOR_KINDS = [CISource.Kind.GITHUB, CISource.Kind.GITLAB, CISource.Kind.JENKINS]


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
        return CISource.objects.exclude(kind=CISource.Kind.PUSH)

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


# --- push API --------------------------------------------------------------------------------


class ChangeInputSerializer(serializers.Serializer):
    sha = StrictCharField(max_length=64)
    committed_at = serializers.DateTimeField()
    title = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class VisibleServiceMixin:
    """``service`` accepts only services the caller may see: another team's is a 400."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["service"].queryset = visible_services(request.user)
        return fields


class DeploymentSerializer(VisibleServiceMixin, serializers.ModelSerializer):
    """Push: the deployment and the changes it brought; a repeat of ``external_id`` (per
    service) updates it. Environments not seen before are created."""

    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.none())
    environment = StrictCharField(max_length=100, source="environment.name")
    status = serializers.ChoiceField(choices=["success", "failure"])
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    sha = StrictCharField(max_length=64, allow_blank=True)
    is_rework = StrictBooleanField(required=False, default=False)
    changes = ChangeInputSerializer(many=True, required=False, max_length=5000)
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "id",
            "external_id",
            "service",
            "environment",
            "status",
            "started_at",
            "finished_at",
            "sha",
            "ref",
            "is_rework",
            "changes",
            "source",
            "url",
        ]
        read_only_fields = ["ref", "url"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["environment"] = instance.environment.name
        data["changes"] = [
            {"sha": c.sha, "committed_at": c.committed_at.isoformat(), "title": c.title}
            for c in instance.changes.all()
        ]
        return data

    def validate(self, attrs):
        errors = {}
        if attrs["finished_at"] < attrs["started_at"]:
            errors["finished_at"] = ["Must not be before started_at."]
        for index, change in enumerate(attrs.get("changes", [])):
            if change["committed_at"] > attrs["finished_at"]:
                errors.setdefault("changes", {})[index] = {
                    "committed_at": ["Must not be after the deployment finished."]
                }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class IncidentSerializer(VisibleServiceMixin, serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.none())
    deployment = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        source="deployment.external_id",
        help_text="external_id of the deployment that caused it",
    )
    source = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "external_id",
            "service",
            "title",
            "opened_at",
            "resolved_at",
            "deployment",
            "source",
            "url",
        ]
        read_only_fields = ["url"]

    def validate(self, attrs):
        if attrs.get("resolved_at") and attrs["resolved_at"] < attrs["opened_at"]:
            raise serializers.ValidationError({"resolved_at": ["Must not be before opened_at."]})
        external_id = (attrs.pop("deployment", None) or {}).get("external_id")
        attrs["deployment"] = None
        if external_id:
            attrs["deployment"] = selectors.deployment_for_incident(
                service=attrs["service"], external_id=external_id
            )
            if attrs["deployment"] is None:
                raise serializers.ValidationError(
                    {"deployment": ["No deployment with this external_id for this service."]}
                )
        return attrs


class PushViewSet(ScopedRecordViewSet, mixins.CreateModelMixin):
    """Create answers 201 for a new external_id and 200 when it updated an existing one."""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not access_for(request.user).can_edit_service(serializer.validated_data["service"]):
            raise PermissionDenied("Your role cannot record events for this service.")
        instance, created = self.push(serializer.validated_data)
        output = self.get_serializer(self.get_queryset().get(pk=instance.pk))
        return Response(output.data, status=201 if created else 200)


class DeploymentViewSet(PushViewSet):
    model = Deployment
    related = ("service", "environment", "source")
    serializer_class = DeploymentSerializer
    filterset_class = DeploymentFilterSet
    ordering_fields = ["finished_at", "started_at"]
    ordering = ["-finished_at"]

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related(Prefetch("changes", queryset=Change.objects.order_by("committed_at")))
        )

    def push(self, data):
        environment = data.pop("environment")["name"]
        return services.deployment_push(actor=self.request.user, environment=environment, **data)


class IncidentViewSet(PushViewSet):
    model = Incident
    related = ("service", "deployment", "source")
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    ordering_fields = ["opened_at", "resolved_at"]
    ordering = ["-opened_at"]

    def push(self, data):
        return services.incident_push(actor=self.request.user, **data)
