"""REST API for pipeline templates, their assignment to services, and conformance.

- ``/pipeline-templates/``: list, retrieve (latest stages, version list, adoption per team),
  create (leads), PATCH name/description/owner team (leads);
  ``/pipeline-templates/<slug>/versions/``: every version with its stages (GET), a new version
  (POST, leads); ``/pipeline-templates/<slug>/render/?target=github|gitlab|jenkins[&version=n]``:
  the starting CI configuration as text.

Assignments and conformance are in pipelines.templates.conformance_api. Writes go through
pipelines.templates.services; reads through its selectors.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from pipelines.models import PipelineTemplate, TemplateStage, TemplateVersion
from pipelines.templates import selectors, services
from pipelines.templates.render import MEDIA_TYPES, TARGETS, render
from pipelines.templates.stages import KINDS, job_id, patterns, spec_of
from portal.access import visible_services
from portal.api import SLUG_PATTERN, RoleWritePermission
from portal.models import Team
from portal.strict_fields import KnownFields, StrictCharField, StrictSlugField


@extend_schema_field(
    {"type": "string", "enum": list(KINDS), "description": "The stage's kind."},
    component_name="StageKindEnum",
)
class StageKindField(StrictCharField):
    """A stage kind; an unknown one is refused by the service with the stage's position."""


class LeadsWrite:
    """Only leads and admins write (403 before the body is read); the services check again."""

    permission_classes = [*viewsets.GenericViewSet.permission_classes, RoleWritePermission]

    def role_may_write(self, access) -> bool:
        return access.is_lead


# --- serializers -----------------------------------------------------------------------------


class TemplateStageInputSerializer(KnownFields, serializers.Serializer):
    name = StrictCharField(help_text="Unique within the version; also names the job.")
    kind = StageKindField()
    gate = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="e.g. `coverage >= 80%`, `critical_vulnerabilities == 0 and high < 5`.",
    )
    environment = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Environment slug: required for deploy stages, refused for others.",
    )
    match = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="Job or stage name patterns separated by |; blank: the kind's usual names.",
    )


class TemplateStageSerializer(serializers.ModelSerializer):
    kind = StageKindField(read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    job = serializers.SerializerMethodField(help_text="The job id in generated configurations.")
    patterns = serializers.SerializerMethodField(
        help_text="The effective patterns that show the stage ran (lowercase)."
    )

    class Meta:
        model = TemplateStage
        fields = ["position", "name", "kind", "gate", "environment", "match", "job", "patterns"]

    def get_job(self, stage) -> str:
        return job_id(stage.name)

    def get_patterns(self, stage) -> list[str]:
        return patterns(spec_of(stage))


class TemplateVersionBriefSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TemplateVersion
        fields = ["number", "note", "created_by", "created_at"]


class TemplateVersionSerializer(TemplateVersionBriefSerializer):
    stages = TemplateStageSerializer(many=True, read_only=True)

    class Meta(TemplateVersionBriefSerializer.Meta):
        fields = [*TemplateVersionBriefSerializer.Meta.fields, "stages"]


class PipelineTemplateSerializer(serializers.ModelSerializer):
    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    latest_version = serializers.IntegerField(source="latest_number", read_only=True)
    assigned = serializers.IntegerField(read_only=True, help_text="Services assigned to it.")

    class Meta:
        model = PipelineTemplate
        fields = [
            "slug", "name", "description", "owner_team", "latest_version", "assigned",
            "created_at",
        ]  # fmt: skip


class TemplateTeamAdoptionSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug")
    assigned = serializers.IntegerField(help_text="The team's services assigned to it.")
    team_services = serializers.IntegerField(help_text="All the team's services.")
    mean_conformance = serializers.FloatField(
        allow_null=True, help_text="Mean of the assigned services' conformance, 0 to 1."
    )


class PipelineTemplateDetailSerializer(PipelineTemplateSerializer):
    stages = TemplateStageSerializer(many=True, source="latest.stages.all", read_only=True)
    versions = TemplateVersionBriefSerializer(many=True, read_only=True)
    adoption = TemplateTeamAdoptionSerializer(
        many=True, read_only=True, help_text="Per team: the services assigned and how they conform."
    )

    class Meta(PipelineTemplateSerializer.Meta):
        fields = [*PipelineTemplateSerializer.Meta.fields, "stages", "versions", "adoption"]


class PipelineTemplateCreateSerializer(KnownFields, serializers.Serializer):
    slug = StrictSlugField(required=False, allow_blank=True, help_text="Default: from the name.")
    name = StrictCharField()
    description = StrictCharField(required=False, allow_blank=True)
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    note = StrictCharField(required=False, allow_blank=True, help_text="Default: First version.")
    stages = TemplateStageInputSerializer(
        many=True, help_text="The first version's stages, in order."
    )


class PipelineTemplateUpdateSerializer(KnownFields, serializers.Serializer):
    name = StrictCharField(required=False)
    description = StrictCharField(required=False, allow_blank=True)
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )


class TemplateVersionCreateSerializer(KnownFields, serializers.Serializer):
    note = StrictCharField(allow_blank=True, help_text="What changed (required).")
    stages = TemplateStageInputSerializer(
        many=True, help_text="All the new version's stages, in order."
    )


class RenderQuery(serializers.Serializer):
    target = serializers.ChoiceField(choices=list(TARGETS))
    version = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class FirstRendererNegotiation(BaseContentNegotiation):
    """The configuration is returned as text whatever the Accept header; errors as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


# --- templates -------------------------------------------------------------------------------


class PipelineTemplateViewSet(
    LeadsWrite, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Pipeline templates: versioned, ordered stages with gates and environments. Everyone
    signed in reads them; leads create them, save new versions and edit their details."""

    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.template_list().prefetch_related("versions__created_by")

    def get_serializer_class(self):
        return (
            PipelineTemplateDetailSerializer
            if self.action == "retrieve"
            else PipelineTemplateSerializer
        )

    def _detail(self, template: PipelineTemplate) -> dict:
        template = self.get_queryset().get(pk=template.pk)
        template.latest = selectors.version_get(template)
        adoption = selectors.adoption(
            services=visible_services(self.request.user), template=template
        )
        template.adoption = adoption.templates[0].teams
        return PipelineTemplateDetailSerializer(
            template, context=self.get_serializer_context()
        ).data

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    @extend_schema(
        request=PipelineTemplateCreateSerializer, responses={201: PipelineTemplateDetailSerializer}
    )
    def create(self, request, *args, **kwargs):
        """A template with its first version. Bad stages are refused as a whole: ``stages``
        lists each problem with the stage's position."""
        body = PipelineTemplateCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        template = services.template_create(actor=request.user, **body.validated_data)
        return Response(self._detail(template), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PipelineTemplateUpdateSerializer, responses={200: PipelineTemplateDetailSerializer}
    )
    def partial_update(self, request, *args, **kwargs):
        """The name, description or owning team; stages change by a new version."""
        template = self.get_object()
        body = PipelineTemplateUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.template_update(actor=request.user, template=template, **body.validated_data)
        return Response(self._detail(template))

    @extend_schema(
        methods=["GET"], responses={200: TemplateVersionSerializer(many=True)}, filters=False
    )
    @extend_schema(
        methods=["POST"],
        request=TemplateVersionCreateSerializer,
        responses={201: TemplateVersionSerializer},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def versions(self, request, slug=None):
        """Every version, newest first, with its stages; POST saves the next version (leads)."""
        template = self.get_object()
        if request.method == "POST":
            body = TemplateVersionCreateSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            version = services.template_new_version(
                actor=request.user, template=template, **body.validated_data
            )
            version = selectors.version_get(template, version.number)
            return Response(TemplateVersionSerializer(version).data, status=status.HTTP_201_CREATED)
        versions = template.versions.select_related("created_by").prefetch_related(
            "stages__environment"
        )
        return Response(TemplateVersionSerializer(versions.order_by("-number"), many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("target", str, enum=list(TARGETS), required=True),
            OpenApiParameter("version", int, description="A version number (default: latest)."),
        ],
        # YAML workflows are mappings; a Jenkinsfile is text.
        responses={(200, "text/yaml"): OpenApiTypes.OBJECT, (200, "text/plain"): str},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="render",
        filter_backends=[],
        pagination_class=None,
        content_negotiation_class=FirstRendererNegotiation,
    )
    def render_config(self, request, slug=None):
        """The version as a starting CI configuration: GitHub Actions (text/yaml), GitLab CI
        (text/yaml) or a Jenkinsfile (text/plain)."""
        template = self.get_object()
        query = RenderQuery(data=request.query_params.dict())  # a plain dict: blank is a value
        query.is_valid(raise_exception=True)
        target = query.validated_data["target"]
        version = selectors.version_get(template, query.validated_data.get("version"))
        if version is None:
            raise NotFound("No such version of this template.")
        text = render(version, target)
        return HttpResponse(text, content_type=f"{MEDIA_TYPES[target]}; charset=utf-8")
