"""REST API for maturity: models (versions, YAML in and out) and assessments with their ratings
and workflow actions. Writes go through maturity.services."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from maturity import services
from maturity.catalogue import CatalogueError, dump_model, parse_model
from maturity.filtersets import AssessmentFilterSet, MaturityModelFilterSet
from maturity.models import Assessment, Capability, EvidenceFile, Level, MaturityModel, Rating
from portal.access import access_for, visible_teams
from portal.api import SLUG_PATTERN
from portal.models import Team
from portal.strict_fields import StrictModelSerializer
from portal.uploads import read_upload


class CapabilitySerializer(serializers.ModelSerializer):
    area = serializers.CharField(source="area.key")
    check = serializers.SerializerMethodField()
    levels = serializers.SerializerMethodField()

    class Meta:
        model = Capability
        fields = ["key", "name", "description", "area", "check", "levels"]

    def get_check(self, capability) -> dict | None:
        if not capability.check_metric:
            return None
        return {
            "metric": capability.check_metric,
            "pattern": capability.check_pattern,
            "thresholds": capability.check_thresholds,
        }

    def get_levels(self, capability) -> dict[str, str]:
        return {str(level.number): level.description for level in capability.levels.all()}


class MaturityModelSerializer(serializers.ModelSerializer):
    areas = serializers.SerializerMethodField()
    capabilities = CapabilitySerializer(many=True, read_only=True)
    in_use = serializers.SerializerMethodField()

    class Meta:
        model = MaturityModel
        fields = ["slug", "version", "name", "description", "areas", "capabilities", "in_use"]

    def get_areas(self, model) -> list[dict]:
        return [{"key": a.key, "name": a.name} for a in model.areas.all()]

    def get_in_use(self, model) -> bool:
        return model.assessments.exists()


class ModelImportSerializer(serializers.Serializer):
    yaml = serializers.CharField(help_text="The model as YAML (docs/maturity.md has the schema).")


def _spec_from(request):
    body = ModelImportSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        return parse_model(body.validated_data["yaml"])
    except CatalogueError as error:
        raise serializers.ValidationError({"yaml": error.problems}) from None


def _models():
    levels = Prefetch("levels", queryset=Level.objects.order_by("number"))
    capabilities = Prefetch(
        "capabilities",
        queryset=Capability.objects.select_related("area").prefetch_related(levels),
    )
    return MaturityModel.objects.prefetch_related("areas", capabilities)


class MaturityModelViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Maturity models. ``/<slug>/`` is the latest version, ``?version=N`` another; ``/<slug>/
    yaml/`` exports one. Leads import a YAML file as the next version of its slug, or PUT one
    to edit the latest version."""

    http_method_names = ["get", "post", "put", "head", "options"]

    serializer_class = MaturityModelSerializer
    filterset_class = MaturityModelFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["slug", "-version"]
    ordering_fields = ["slug", "version"]

    def get_queryset(self):
        return _models()

    def get_object(self):
        versions = self.get_queryset().filter(slug=self.kwargs["slug"])
        version = self.request.query_params.get("version")
        if version is not None:
            if not version.isdigit():
                raise serializers.ValidationError({"version": ["A whole number."]})
            return get_object_or_404(versions, version=int(version))
        model = versions.order_by("-version").first()
        if model is None:
            raise get_object_or_404(versions.none())
        return model

    @extend_schema(request=ModelImportSerializer, responses={201: MaturityModelSerializer})
    def create(self, request, *args, **kwargs):
        if not access_for(request.user).is_lead:
            raise PermissionDenied("Only leads and admins import models.")
        spec = _spec_from(request)
        model = services.model_import(actor=request.user, spec=spec)
        return Response(self.get_serializer(_models().get(pk=model.pk)).data, status=201)

    @extend_schema(request=ModelImportSerializer, responses={200: MaturityModelSerializer})
    def update(self, request, *args, **kwargs):
        """Edit the latest version: in place while no assessment uses it, else saved as the
        next version (the answer says which)."""
        if not access_for(request.user).is_lead:
            raise PermissionDenied("Only leads and admins edit models.")
        model = self.get_object()
        spec = _spec_from(request)
        edited = services.model_edit(actor=request.user, model=model, spec=spec)
        return Response(self.get_serializer(_models().get(pk=edited.pk)).data)

    # The YAML document is a mapping (schemathesis parses YAML answers as data).
    @extend_schema(responses={(200, "application/yaml"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def yaml(self, request, slug=None):
        return HttpResponse(dump_model(self.get_object()), content_type="application/yaml")


class EvidenceFileSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="evidence_download")

    class Meta:
        model = EvidenceFile
        fields = ["id", "name", "size", "sha256", "uploaded_at", "url"]


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class RatingSerializer(StrictModelSerializer):
    capability = serializers.CharField(source="capability.key", read_only=True)
    capability_name = serializers.CharField(source="capability.name", read_only=True)
    level = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False)
    evidence = serializers.ListField(
        child=serializers.URLField(max_length=500), max_length=20, required=False
    )

    class Meta:
        model = Rating
        fields = [
            "capability",
            "capability_name",
            "level",
            "comment",
            "evidence",
            "files",
            "suggested_level",
            "check_result",
        ]
        read_only_fields = ["suggested_level", "check_result"]

    files = EvidenceFileSerializer(many=True, read_only=True)


def _ratings_with_files():
    files = Prefetch("files", EvidenceFile.objects.defer("data"))
    return Rating.objects.select_related("capability").prefetch_related(files)


class AssessmentSerializer(StrictModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    # Versions share a slug: written as slug (+ version), read back as both.
    model = serializers.SlugField(write_only=True, help_text="A maturity model slug.")
    model_version = serializers.IntegerField(
        write_only=True, required=False, min_value=1, help_text="Default: the latest version."
    )
    reviewed_by = serializers.CharField(
        source="reviewed_by.username", read_only=True, default=None, allow_null=True
    )
    ratings = RatingSerializer(many=True, read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "slug",
            "team",
            "model",
            "model_version",
            "period",
            "status",
            "submitted_at",
            "reviewed_by",
            "reviewed_at",
            "review_comment",
            "ratings",
            "created_at",
        ]
        read_only_fields = [
            "slug",
            "status",
            "submitted_at",
            "reviewed_at",
            "review_comment",
            "created_at",
        ]
        validators = []  # one per team and period: the service answers 409 with the field

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A team the caller cannot see is an unknown slug: 400, with no hint it exists.
            fields["team"].queryset = visible_teams(request.user)
        return fields

    def validate(self, attrs):
        versions = MaturityModel.objects.filter(slug=attrs.pop("model"))
        version = attrs.pop("model_version", None)
        if version is not None:
            versions = versions.filter(version=version)
        model = versions.order_by("-version").first()
        if model is None:
            raise serializers.ValidationError({"model": ["No such model (or version)."]})
        return {**attrs, "model": model}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return {**data, "model": instance.model.slug, "model_version": instance.model.version}


class ReviewSerializer(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true signs it off, false sends it back.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class AssessmentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Team assessments: members of the team create and fill drafts, leads review them."""

    serializer_class = AssessmentSerializer
    filterset_class = AssessmentFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["-period", "team__name"]
    ordering_fields = ["period", "created_at"]

    def get_queryset(self):
        ratings = Prefetch("ratings", queryset=_ratings_with_files())
        return (
            Assessment.objects.filter(team__in=visible_teams(self.request.user))
            .select_related("team", "model", "reviewed_by")
            .prefetch_related(ratings)
        )

    def perform_create(self, serializer):
        assessment = services.assessment_create(
            actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = self.get_queryset().get(pk=assessment.pk)

    def _answer(self, assessment):
        return Response(self.get_serializer(self.get_queryset().get(pk=assessment.pk)).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def submit(self, request, slug=None):
        return self._answer(
            services.assessment_submit(actor=request.user, assessment=self.get_object())
        )

    @extend_schema(request=ReviewSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, slug=None):
        assessment = self.get_object()  # before the body: another team's is a 404, never a 400
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assessment = services.assessment_review(
            actor=request.user, assessment=assessment, **body.validated_data
        )
        return self._answer(assessment)

    @extend_schema(request=RatingSerializer, responses={200: RatingSerializer})
    @action(
        detail=True,
        methods=["patch"],
        url_path=r"ratings/(?P<capability>[-a-z0-9]+)",
        url_name="rating",
    )
    def rating(self, request, slug=None, capability=None):
        rating = self._rating(capability)
        body = RatingSerializer(rating, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.rating_update(actor=request.user, rating=rating, data=body.validated_data)
        return self._rating_answer(rating)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer}, responses={201: RatingSerializer}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"ratings/(?P<capability>[-a-z0-9]+)/evidence",
        url_name="rating-evidence",
        parser_classes=[MultiPartParser],
    )
    def evidence(self, request, slug=None, capability=None):
        """Attach a file (multipart field ``file``) as evidence for one rating."""
        rating = self._rating(capability)
        body = EvidenceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = read_upload(body.validated_data["file"])
        services.evidence_attach(actor=request.user, rating=rating, upload=upload)
        return self._rating_answer(rating, status=201)

    def _rating(self, capability: str) -> Rating:
        return get_object_or_404(
            Rating.objects.select_related("assessment__team", "capability"),
            assessment=self.get_object(),
            capability__key=capability,
        )

    def _rating_answer(self, rating: Rating, status: int = 200) -> Response:
        rating = _ratings_with_files().get(pk=rating.pk)
        context = self.get_serializer_context()
        return Response(RatingSerializer(rating, context=context).data, status=status)
