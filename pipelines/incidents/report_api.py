"""The incident report's query and answer (``GET /api/v1/incidents/report/``); definitions in
pipelines.incidents.reports and docs/incidents.md."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from portal.access import visible_teams
from portal.models import Team
from portal.strict_fields import KnownFields
from reporting.metrics.dora import Window

DEFAULT_DAYS = 90
MAX_DAYS = 5 * 366


class IncidentReportQuerySerializer(KnownFields, serializers.Serializer):
    team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.none(),
        required=False,
        help_text="Team slug: its services' incidents and those it owns.",
    )
    start = serializers.DateField(required=False, help_text="First UTC day (default: 89 days ago).")
    end = serializers.DateField(
        required=False, help_text="Last UTC day, inclusive (default: today)."
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["team"].queryset = visible_teams(request.user)
        return fields

    def validate(self, attrs):
        end = attrs.get("end") or timezone.now().date()
        start = attrs.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise serializers.ValidationError({"end": ["Not before start."]})
        if (end - start).days >= MAX_DAYS:
            raise serializers.ValidationError({"start": ["A range of at most 5 years."]})
        return {"window": Window(start, end), "team": attrs.get("team")}


class ResponseTimesSerializer(serializers.Serializer):
    incidents = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    mtta_seconds = serializers.FloatField(source="mtta", allow_null=True, help_text="Median.")
    resolved = serializers.IntegerField()
    mttr_seconds = serializers.FloatField(source="mttr", allow_null=True, help_text="Median.")


class ReportRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='Severity ("" untriaged) or team slug.')
    label = serializers.CharField()
    times = ResponseTimesSerializer()


class DeploymentRateSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug")
    deployments = serializers.IntegerField(help_text="Counted production deployments.")
    incidents = serializers.IntegerField()
    per_deployment = serializers.FloatField(allow_null=True)
    with_incident = serializers.IntegerField(
        help_text="Counted deployments with an attributed incident (DORA)."
    )


class RepeatAlertSerializer(serializers.Serializer):
    alertname = serializers.CharField()
    incidents = serializers.IntegerField()
    services = serializers.ListField(child=serializers.CharField())
    last_opened_at = serializers.DateTimeField()


class RepeatCauseSerializer(serializers.Serializer):
    tag = serializers.CharField()
    reviews = serializers.SerializerMethodField(help_text="Review ids.")
    incidents = serializers.SerializerMethodField(help_text="Incident ids.")

    def get_reviews(self, cause) -> list[int]:
        return [review.pk for review in cause.reviews]

    def get_incidents(self, cause) -> list[int]:
        return [review.incident_id for review in cause.reviews]


class IncidentReportSerializer(serializers.Serializer):
    start = serializers.DateField(source="window.start")
    end = serializers.DateField(source="window.end")
    team = serializers.CharField(source="team.slug", allow_null=True, default=None)
    overall = ResponseTimesSerializer()
    by_severity = ReportRowSerializer(many=True)
    by_team = ReportRowSerializer(many=True)
    per_deployment = DeploymentRateSerializer(many=True)
    repeat_alerts = RepeatAlertSerializer(many=True)
    repeat_causes = RepeatCauseSerializer(many=True)
