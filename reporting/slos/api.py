"""``/api/v1/slos/``: service level objectives with their error budget, burn rates and alert
state (docs/slos.md).

Everyone signed in lists and reads the SLOs of the services they may see (filters
``service``, ``team``, ``kind``, ``measurement``, ``level``, ``is_active``). Admins and leads,
and a team's own admins and leads for its services, create them (POST), change them (PATCH)
and delete them; anyone else is refused (403) before the body is read. Writes go through
reporting.slos.services; bad input is a 400 with the field and the reason.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from pipelines.filtersets import ScopedFilterSet
from pipelines.models import CISource, Severity
from portal.access import visible_services
from portal.api import SLUG_PATTERN, RoleWritePermission
from portal.filtersets import StrictBooleanFilter
from portal.strict_fields import (
    KnownFields,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictURLField,
    named_choice_field,
)
from reporting.slos import selectors, services
from reporting.slos.models import Slo

SloKindField = named_choice_field("SloKindEnum", Slo.Kind)
MeasurementField = named_choice_field("SloMeasurementEnum", Slo.Measurement)
QueryResultField = named_choice_field("SloQueryResultEnum", Slo.QueryResult)
LevelField = named_choice_field("SloLevelEnum", Slo.Level)
SeverityField = named_choice_field("SloSeverityEnum", Severity)


class SloFilterSet(ScopedFilterSet):
    kind = django_filters.ChoiceFilter(choices=Slo.Kind.choices)
    measurement = django_filters.ChoiceFilter(choices=Slo.Measurement.choices)
    level = django_filters.ChoiceFilter(
        choices=Slo.Level.choices, help_text="The alert state: ok, ticket or page."
    )
    is_active = StrictBooleanFilter()

    class Meta:
        model = Slo
        fields = ["service", "team", "kind", "measurement", "level", "is_active"]


class BurnRuleSerializer(serializers.Serializer):
    level = LevelField(choices=Slo.Level.choices)
    long_window = serializers.CharField()
    short_window = serializers.CharField()
    burn_rate = serializers.FloatField(help_text="Fires above this over both windows.")


class OpenAlertSerializer(serializers.Serializer):
    level = LevelField(choices=Slo.Level.choices)
    message = serializers.CharField()
    opened_at = serializers.DateTimeField()


class SloStatusSerializer(serializers.Serializer):
    """The last evaluation (``source="*"``: read from the SLO itself)."""

    evaluated_at = serializers.DateTimeField(allow_null=True)
    sli = serializers.FloatField(
        allow_null=True, help_text="Good fraction over the window (0 to 1); null: no data."
    )
    budget_remaining = serializers.FloatField(
        allow_null=True, help_text="Share of the error budget left; below 0: overspent."
    )
    budget_minutes = serializers.FloatField(help_text="The window's error budget as time.")
    burn_rates = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Burn rate over 5m, 30m, 1h, 6h and 3d (null: no data in that window).",
    )
    alert_state = LevelField(source="level", choices=Slo.Level.choices)
    error = serializers.SerializerMethodField(help_text="Why the last evaluation failed.")
    error_at = serializers.DateTimeField(source="last_error_at", allow_null=True)

    def get_error(self, slo: Slo) -> str:
        return slo.last_error if slo.is_failing else ""


class SloSerializer(KnownFields, StrictModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Slo.objects.none())
    team = serializers.CharField(source="service.team.slug", read_only=True)
    kind = SloKindField(choices=Slo.Kind.choices, required=False, default=Slo.Kind.AVAILABILITY)
    objective = StrictFloatField(help_text="Percent of good events (or time), e.g. 99.9.")
    window_days = StrictIntegerField(
        min_value=services.MIN_WINDOW_DAYS,
        max_value=services.MAX_WINDOW_DAYS,
        required=False,
        default=28,
    )
    latency_threshold_ms = StrictIntegerField(
        min_value=1, max_value=services.MAX_LATENCY_MS, allow_null=True, required=False
    )
    measurement = MeasurementField(
        choices=Slo.Measurement.choices, required=False, default=Slo.Measurement.INCIDENTS
    )
    incident_severities = serializers.ListField(
        child=SeverityField(choices=Severity.choices), required=False, default=list
    )
    prometheus_source = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=CISource.objects.filter(kind=CISource.Kind.PROMETHEUS),
        allow_null=True,
        required=False,
        help_text="Slug of a CI source of kind prometheus.",
    )
    query = StrictCharField(allow_blank=True, required=False, default="")
    query_result = QueryResultField(
        choices=Slo.QueryResult.choices, required=False, default=Slo.QueryResult.RATIO
    )
    emails = serializers.ListField(
        child=StrictCharField(max_length=254), required=False, default=list
    )
    webhook_url = StrictURLField(
        max_length=500, allow_blank=True, required=False, default="", write_only=True
    )
    has_webhook = serializers.SerializerMethodField()
    is_active = StrictBooleanField(required=False, default=True)
    objective_text = serializers.CharField(source="describe", read_only=True)
    status = SloStatusSerializer(source="*", read_only=True)
    alert_rules = serializers.SerializerMethodField()
    open_alerts = serializers.SerializerMethodField()

    class Meta:
        model = Slo
        fields = [
            "slug", "name", "service", "team", "kind", "objective", "window_days",
            "latency_threshold_ms", "objective_text", "measurement", "incident_severities",
            "prometheus_source", "query", "query_result", "emails", "webhook_url",
            "has_webhook", "is_active", "status", "alert_rules", "open_alerts", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = ["slug", "created_at", "updated_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A service the caller cannot see is an unknown slug: 400, no hint it exists.
            fields["service"].queryset = visible_services(request.user)
        return fields

    def to_representation(self, slo: Slo):
        data = super().to_representation(slo)
        data["emails"] = slo.email_list
        return data

    def get_has_webhook(self, slo: Slo) -> bool:
        return bool(slo.webhook_url)

    @extend_schema_field(BurnRuleSerializer(many=True))
    def get_alert_rules(self, slo: Slo) -> list[dict]:
        """The workbook's rules with their burn rates scaled to this SLO's window."""
        return [
            {"level": r.level, "long_window": r.long, "short_window": r.short, "burn_rate": t}
            for r, t in slo.thresholds
        ]

    @extend_schema_field(OpenAlertSerializer(many=True))
    def get_open_alerts(self, slo: Slo) -> list[dict]:
        alerts = getattr(slo, "open_alerts", None)
        if alerts is None:
            alerts = slo.alerts.filter(resolved_at=None)
        return [{"level": a.level, "message": a.message, "opened_at": a.opened_at} for a in alerts]


class SloUpdateSerializer(SloSerializer):
    """PATCH: only the fields given change (DRF applies no defaults to partial input)."""

    def get_fields(self):
        fields = super().get_fields()
        fields["service"].read_only = True  # an SLO belongs to its service for good
        return fields


class SloViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Service level objectives, by slug. Readable by everyone signed in (the services they
    may see); leads and the service's team leads create, PATCH and delete them."""

    serializer_class = SloSerializer
    filterset_class = SloFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["service__name", "name"]
    ordering_fields = ["name", "created_at", "budget_remaining"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [*viewsets.GenericViewSet.permission_classes, RoleWritePermission]

    def get_queryset(self):
        return selectors.visible_slos(self.request.user)

    def role_may_write(self, access) -> bool:
        return services.edits_any(access)

    def _require(self, service) -> None:
        if not services.may_edit(self.request.user, service):
            raise PermissionDenied("Only leads (and the service's team leads) edit its SLOs.")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        self._require(data["service"])
        slo = services.slo_create(actor=self.request.user, **data)
        serializer.instance = self.get_queryset().get(pk=slo.pk)

    @extend_schema(request=SloUpdateSerializer, responses={200: SloSerializer})
    def partial_update(self, request, *args, **kwargs):
        slo = self.get_object()
        self._require(slo.service)
        body = SloUpdateSerializer(
            slo, data=request.data, partial=True, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        services.slo_update(actor=request.user, slo=slo, data=dict(body.validated_data))
        return Response(self.get_serializer(self.get_queryset().get(pk=slo.pk)).data)

    def perform_destroy(self, instance):
        self._require(instance.service)
        services.slo_delete(actor=self.request.user, slo=instance)
