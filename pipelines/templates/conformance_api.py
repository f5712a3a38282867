"""REST API for which service follows which template, and how its runs conform.

- ``/template-assignments/``: which service follows which template (leads assign and remove);
  addressed by the service's slug.
- ``/template-conformance/``: observed vs designed per assigned service, filtered like the
  assignments, over ``days`` (default 30); ``/template-conformance/<service>/`` for one.

Templates themselves are in pipelines.templates.api.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from pipelines.models import PipelineTemplate, ServiceTemplate
from pipelines.templates import selectors, services
from pipelines.templates.api import LeadsWrite, StageKindField
from pipelines.templates.filtersets import AssignmentFilterSet
from portal.access import visible_services
from portal.api import SLUG_PATTERN
from portal.models import Service
from portal.strict_fields import KnownFields

MAX_DAYS = 365


# --- assignments -----------------------------------------------------------------------------


class TemplateAssignmentSerializer(KnownFields, serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    template = serializers.SlugRelatedField(
        slug_field="slug", queryset=PipelineTemplate.objects.all()
    )
    team = serializers.SlugRelatedField(source="service.team", slug_field="slug", read_only=True)
    assigned_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ServiceTemplate
        fields = ["service", "team", "template", "assigned_by", "assigned_at"]
        read_only_fields = ["assigned_at"]
        validators = []  # assigning again replaces the service's template

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["service"].queryset = visible_services(request.user)
        return fields


class _ByService:
    """Addressed by the service's slug: a service follows one template."""

    lookup_field = "service__slug"
    lookup_url_kwarg = "service"
    lookup_value_regex = SLUG_PATTERN
    filterset_class = AssignmentFilterSet
    ordering = ["service__team__name", "service__name"]
    ordering_fields = ["service__name", "assigned_at"]

    def get_queryset(self):
        return ServiceTemplate.objects.filter(
            service__in=visible_services(self.request.user)
        ).select_related("service__team", "template", "assigned_by")


class TemplateAssignmentViewSet(
    _ByService,
    LeadsWrite,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Which template each service follows. Leads assign (``POST {service, template}``; again
    for the same service replaces its template: 200 instead of 201) and remove (DELETE)."""

    serializer_class = TemplateAssignmentSerializer

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = body.validated_data["service"]
        existed = ServiceTemplate.objects.filter(service=service).exists()
        assignment = services.service_assign(
            actor=request.user, service=service, template=body.validated_data["template"]
        )
        data = self.get_serializer(self.get_queryset().get(pk=assignment.pk)).data
        return Response(data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.service_unassign(actor=self.request.user, service=instance.service)


# --- conformance -----------------------------------------------------------------------------


class TemplateStageStatusSerializer(serializers.Serializer):
    position = serializers.IntegerField(source="stage.position")
    name = serializers.CharField(source="stage.name")
    kind = StageKindField(source="stage.kind")
    present = serializers.BooleanField()
    runs = serializers.IntegerField(help_text="Runs in the window with a matching job.")
    share = serializers.FloatField(allow_null=True, help_text="runs / all runs (0 to 1).")
    jobs = serializers.ListField(child=serializers.CharField(), help_text="Matching job names.")


class TemplateSkippedGateSerializer(serializers.Serializer):
    deployment = serializers.CharField(source="deployment.external_id")
    environment = serializers.CharField(source="deployment.environment.slug")
    sha = serializers.CharField(source="deployment.sha")
    finished_at = serializers.DateTimeField(source="deployment.finished_at")
    without_run = serializers.BooleanField(help_text="No pipeline run recorded for it.")
    skipped = serializers.SerializerMethodField(help_text="The gate stages its run lacks.")

    def get_skipped(self, item) -> list[str]:
        return [stage.name for stage in item.skipped]


class TemplateConformanceSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    team = serializers.CharField(source="service.team.slug")
    template = serializers.CharField(source="template.slug")
    version = serializers.IntegerField(source="version.number")
    runs = serializers.IntegerField(help_text="The service's runs in the window.")
    conformance = serializers.FloatField(help_text="Present designed stages / designed stages.")
    stages = TemplateStageStatusSerializer(many=True)
    missing = serializers.SerializerMethodField()
    production_deployments = serializers.IntegerField()
    skipped_gates = TemplateSkippedGateSerializer(many=True, source="skipped")

    def get_missing(self, item) -> list[str]:
        return [status.stage.name for status in item.missing]


DAYS = OpenApiParameter(
    "days",
    {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
    description="The window: the last so many days of runs (default 30).",
)


class WindowQuery(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_DAYS, default=30)


class TemplateConformanceViewSet(_ByService, viewsets.ReadOnlyModelViewSet):
    """Observed vs designed for each service assigned a template, over the last ``days`` of its
    runs: each designed stage present (with the share of runs) or missing, conformance
    (present / designed), and the production deployments whose run skipped a gate stage."""

    serializer_class = TemplateConformanceSerializer

    def _days(self) -> int:
        query = WindowQuery(data={"days": self.request.query_params.get("days", 30)})
        if not query.is_valid():
            raise ValidationError(query.errors)
        return query.validated_data["days"]

    def _results(self, assignments) -> list:
        by_service = {
            r.service.pk: r
            for r in selectors.conformance(
                services=Service.objects.filter(pk__in=[a.service_id for a in assignments]),
                days=self._days(),
            )
        }
        return [by_service[a.service_id] for a in assignments if a.service_id in by_service]

    @extend_schema(parameters=[DAYS])
    def list(self, request, *args, **kwargs):
        self._days()  # validated before anything is read
        assignments = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(assignments)
        rows = self._results(page if page is not None else list(assignments))
        data = TemplateConformanceSerializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        parameters=[DAYS],
        filters=False,
    )
    def retrieve(self, request, *args, **kwargs):
        self._days()
        return Response(TemplateConformanceSerializer(self._results([self.get_object()])[0]).data)
