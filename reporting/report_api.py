"""``/api/v1/status-reports/``: saved stakeholder status reports, a new one for a period, and
each one's PDF. Saved reports are organisation-wide: admins, leads and stakeholders read and
save them; anyone else lists none and is refused a save (403)."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.api import SLUG_PATTERN
from portal.filtersets import StrictBooleanFilter
from reporting.models import StatusReport
from reporting.status.pdf import pdf_response
from reporting.status.services import readable_reports, require_may_save, status_report_create


class StatusReportFilterSet(django_filters.FilterSet):
    since = django_filters.DateFilter(
        field_name="period_end", lookup_expr="gte", help_text="Periods ending on or after this day."
    )
    until = django_filters.DateFilter(
        field_name="period_start",
        lookup_expr="lte",
        help_text="Periods starting on or before this day.",
    )
    scheduled = StrictBooleanFilter(help_text="Made for the email digest (true) or not.")

    class Meta:
        model = StatusReport
        fields = ["since", "until", "scheduled"]


class StatusReportListSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    label = serializers.SerializerMethodField()

    class Meta:
        model = StatusReport
        fields = [
            "slug", "period_start", "period_end", "label", "scheduled", "created_at",
            "created_by", "recipients",
        ]  # fmt: skip

    def get_label(self, report: StatusReport) -> str:
        return report.content.get("period", {}).get("label", report.slug)


class StatusReportSerializer(StatusReportListSerializer):
    content = serializers.JSONField(
        read_only=True, help_text="The report's data as sent (docs/status-reports.md)."
    )

    class Meta(StatusReportListSerializer.Meta):
        fields = [*StatusReportListSerializer.Meta.fields, "content"]


class PeriodSerializer(serializers.Serializer):
    period_start = serializers.DateField(help_text="First day, UTC (YYYY-MM-DD).")
    period_end = serializers.DateField(
        help_text="Last day, UTC, inclusive; today at the latest, at most 366 days in all."
    )


class PdfNegotiation(BaseContentNegotiation):
    """The PDF action answers with a PDF whatever the client accepts (errors stay JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class StatusReportViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Saved status reports, newest period first; ``POST`` saves the report of a period now
    (a second one for the same period gets the slug suffix ``-2``)."""

    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    filterset_class = StatusReportFilterSet
    ordering = ["-period_end", "-created_at"]
    ordering_fields = ["period_end", "period_start", "created_at"]

    def get_queryset(self):
        return readable_reports(self.request.user)

    def get_serializer_class(self):
        return StatusReportListSerializer if self.action == "list" else StatusReportSerializer

    @extend_schema(request=PeriodSerializer, responses={201: StatusReportSerializer})
    def create(self, request, *args, **kwargs):
        require_may_save(request.user)  # the role first: a refused caller learns nothing more
        body = PeriodSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = status_report_create(actor=request.user, **body.validated_data)
        return Response(StatusReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report as sent, A4."
            )
        }
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        pagination_class=None,
        content_negotiation_class=PdfNegotiation,
    )
    def pdf(self, request, slug=None):
        """The saved report as a PDF (an attachment)."""
        return pdf_response(self.get_object())
