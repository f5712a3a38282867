"""The push API: deployments and incidents from systems without a connector."""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from pipelines import selectors, services
from pipelines.api import ScopedRecordViewSet
from pipelines.change_requests.services import cr_refresh_queue
from pipelines.filtersets import DeploymentFilterSet
from pipelines.models import Change, Deployment, Incident
from pipelines.policies.evaluation import policies_evaluate_queue
from portal.access import access_for, visible_services
from portal.models import Service
from portal.strict_fields import StrictBooleanField, StrictCharField


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


class ReportedDateTimeField(serializers.DateTimeField):
    """Required in a push, but null when read back from a connector that did not report it."""


class ReportedDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ReportedDateTimeField

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.DATETIME)
        return {**schema, "nullable": True} if direction == "response" else schema


class DeploymentSerializer(VisibleServiceMixin, serializers.ModelSerializer):
    """Push: the deployment and the changes it brought; a repeat of ``external_id`` (per
    service) updates it. Environments not seen before are created."""

    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.none())
    environment = StrictCharField(max_length=100, source="environment.name")
    status = serializers.ChoiceField(choices=["success", "failure"])
    started_at = ReportedDateTimeField()
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
        pushed = services.deployment_push(actor=self.request.user, environment=environment, **data)
        cr_refresh_queue()  # deliver the change requests production now carries
        policies_evaluate_queue(service_ids=[pushed[0].service_id])
        return pushed
