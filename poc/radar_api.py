"""REST API for the technology radar: quadrants, entries with their history of ring moves,
moves, and the export as JSON or as a Build Your Own Radar CSV."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from poc import radar_services
from poc.export import EXPORT_FORMATS, byor_csv, radar_json
from poc.filtersets import RadarEntryFilterSet
from poc.models import Quadrant, RadarEntry, Ring, RingMove
from portal.access import require_lead
from portal.api import SLUG_PATTERN
from portal.strict_fields import StrictModelSerializer


class QuadrantSerializer(StrictModelSerializer):
    class Meta:
        model = Quadrant
        fields = ["slug", "name", "position"]
        read_only_fields = ["slug"]


class RingMoveSerializer(serializers.ModelSerializer):
    poc = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    moved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RingMove
        fields = ["from_ring", "to_ring", "reason", "poc", "moved_by", "moved_at"]


class RadarEntrySerializer(StrictModelSerializer):
    quadrant = serializers.SlugRelatedField(slug_field="slug", queryset=Quadrant.objects.all())
    ring = serializers.ChoiceField(choices=Ring.choices)
    reason = serializers.CharField(write_only=True, max_length=5000, help_text="why it goes there")
    history = RingMoveSerializer(source="moves", many=True, read_only=True)
    pocs = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = RadarEntry
        fields = [
            "slug", "name", "quadrant", "ring", "description", "adoption_pattern", "reason",
            "created_at", "moved_at", "history", "pocs",
        ]  # fmt: skip
        read_only_fields = ["slug", "created_at", "moved_at"]


class RadarEntryUpdateSerializer(StrictModelSerializer):
    quadrant = serializers.SlugRelatedField(slug_field="slug", queryset=Quadrant.objects.all())

    class Meta:
        model = RadarEntry
        fields = ["name", "quadrant", "description", "adoption_pattern"]


class MoveSerializer(serializers.Serializer):
    ring = serializers.ChoiceField(choices=Ring.choices)
    reason = serializers.CharField(max_length=5000)


class ExportNegotiation(BaseContentNegotiation):
    """The export's ``format`` names a file format, not one of DRF's renderers."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class QuadrantViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The radar's quadrants; leads add them."""

    serializer_class = QuadrantSerializer
    queryset = Quadrant.objects.all()
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["position", "name"]

    def perform_create(self, serializer):
        serializer.instance = radar_services.quadrant_create(
            actor=self.request.user, **serializer.validated_data
        )


class RadarEntryViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Radar entries with their history. Leads add entries (``reason`` required), edit them
    (PATCH) and move them (``POST /<slug>/move/``); POC decisions move them too."""

    serializer_class = RadarEntrySerializer
    filterset_class = RadarEntryFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["quadrant__position", "name"]
    ordering_fields = ["name", "moved_at", "ring"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return RadarEntry.objects.select_related("quadrant").prefetch_related(
            "moves__poc", "moves__moved_by", "pocs"
        )

    def perform_create(self, serializer):
        entry = radar_services.entry_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=entry.pk)

    @extend_schema(request=RadarEntryUpdateSerializer, responses={200: RadarEntrySerializer})
    def partial_update(self, request, *args, **kwargs):
        require_lead(request.user)
        entry = self.get_object()
        body = RadarEntryUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        radar_services.entry_update(actor=request.user, entry=entry, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(request=MoveSerializer, responses={200: RadarEntrySerializer})
    @action(detail=True, methods=["post"])
    def move(self, request, slug=None):
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = radar_services.entry_move(
            actor=request.user, entry=self.get_object(), **body.validated_data
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=entry.pk)).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), default="json"),
            OpenApiParameter("since", OpenApiTypes.DATE, description="isNew: placed on or after"),
        ],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): str},
    )
    @action(
        detail=False,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        content_negotiation_class=ExportNegotiation,
    )
    def export(self, request):
        """The whole radar: ``format=json`` (entries with history) or ``format=byor-csv``
        (name, ring, quadrant, isNew, description). isNew: placed on the radar on or after
        ``since`` (default: the last 90 days)."""
        form = ExportQuery(data=request.query_params.dict())  # a plain dict: blank is not "absent"
        form.is_valid(raise_exception=True)
        entries = list(self.get_queryset())
        since = form.validated_data.get("since")
        if form.validated_data["format"] == "byor-csv":
            response = HttpResponse(byor_csv(entries, since=since), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="radar.csv"'
            return response
        return Response(radar_json(entries, since=since))


class ExportQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(EXPORT_FORMATS), default="json")
    since = serializers.DateField(required=False)
