"""``GET /api/v1/metrics/dora/``: the five keys for a service, a team or the organisation."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.access import access_for, visible_services, visible_teams
from reporting.metrics.dora import Window
from reporting.metrics.tiers import DEFAULT_REPORT, REPORTS
from reporting.selectors import ORGANISATION, RollupScope, dora_overview, dora_totals, health_for
from reporting.summary import dora_summary

MAX_RANGE_DAYS = 5 * 366
DEFAULT_DAYS = 30


class ScopeSerializer(serializers.Serializer):
    service = serializers.SlugField(required=False, help_text="A service slug.")
    team = serializers.SlugField(required=False, help_text="A team slug (all its services).")
    start = serializers.DateField(required=False, help_text="First day, UTC (YYYY-MM-DD).")
    end = serializers.DateField(required=False, help_text="Last day, UTC, inclusive.")
    report = serializers.ChoiceField(
        choices=REPORTS, default=DEFAULT_REPORT, help_text="DORA report year whose tiers to use."
    )

    def validate(self, attrs):
        user = self.context["request"].user
        if attrs.get("service") and attrs.get("team"):
            raise serializers.ValidationError({"team": ["Give a service or a team, not both."]})
        end = attrs.get("end") or timezone.now().astimezone(UTC).date()
        start = attrs.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            raise serializers.ValidationError({"end": ["Must not be before start."]})
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError({"end": ["The range may span at most 5 years."]})
        services = visible_services(user)
        access = access_for(user)
        scope = {"kind": "organisation"}
        rollup = ORGANISATION if access.sees_all_teams else RollupScope.of_teams(access.team_ids)
        if attrs.get("service"):
            service = services.filter(slug=attrs["service"]).first()
            if service is None:
                raise serializers.ValidationError({"service": ["No such service."]})
            services = services.filter(pk=service.pk)
            scope = {"kind": "service", "slug": attrs["service"]}
            rollup = RollupScope.of_services([service.pk])
        elif attrs.get("team"):
            team = visible_teams(user).filter(slug=attrs["team"]).first()
            if team is None:
                raise serializers.ValidationError({"team": ["No such team."]})
            services = services.filter(team=team)
            scope = {"kind": "team", "slug": attrs["team"]}
            rollup = RollupScope.of_teams([team.pk])
        scope.update(start=start.isoformat(), end=end.isoformat(), services=services.count())
        return {
            "window": Window(start, end),
            "services": services,
            "rollup": rollup,
            "scope": scope,
            "report": attrs["report"],
        }


class DoraView(APIView):
    """The five DORA keys with their tiers; definitions in docs/metrics.md.

    Counted deployments: successful production deployments finished in
    [start 00:00 UTC, end + 1 day 00:00 UTC). Values are null where there is nothing to measure.
    """

    @extend_schema(
        parameters=[ScopeSerializer],
        responses={200: {"type": "object", "description": "The five keys (see the example)."}},
        operation_id="metrics_dora",
    )
    def get(self, request):
        # A plain dict: a QueryDict gets HTML-form semantics, where a blank value means "absent".
        params = ScopeSerializer(data=request.query_params.dict(), context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        result = dora_totals(scope=data["rollup"], window=data["window"])
        return Response(
            {
                "scope": {**data["scope"], "report": data["report"]},
                **dora_summary(result, report=data["report"]),
            }
        )


class TrendSerializer(ScopeSerializer):
    bucket = serializers.ChoiceField(choices=["week", "month"], default="week")

    def validate(self, attrs):
        bucket = attrs.pop("bucket")
        return {**super().validate(attrs), "bucket": bucket}


class DoraTrendView(APIView):
    """The five keys per week (Monday-Sunday) or calendar month inside the range."""

    @extend_schema(
        parameters=[TrendSerializer],
        operation_id="metrics_dora_trend",
        responses={200: {"type": "object"}},
    )
    def get(self, request):
        params = TrendSerializer(data=request.query_params.dict(), context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        _totals, points = dora_overview(
            scope=data["rollup"], window=data["window"], bucket=data["bucket"]
        )
        return Response(
            {
                "scope": {**data["scope"], "report": data["report"], "bucket": data["bucket"]},
                "points": [
                    {
                        "start": part.start.isoformat(),
                        "end": part.end.isoformat(),
                        **dora_summary(result, report=data["report"]),
                    }
                    for part, result in points
                ],
            }
        )


class PipelineHealthView(APIView):
    """Pipeline health of the runs created in the range; definitions in docs/metrics.md."""

    @extend_schema(
        parameters=[ScopeSerializer],
        operation_id="metrics_pipeline_health",
        responses={200: {"type": "object"}},
    )
    def get(self, request):
        params = ScopeSerializer(data=request.query_params.dict(), context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        health = health_for(
            scope=data["rollup"],
            window=data["window"],
            now=timezone.now(),
        )
        return Response(
            {
                "scope": data["scope"],
                **asdict(health),
                "cost_per_minute": settings.CI_COST_PER_MINUTE,
                "cost_per_minute_by_runner": settings.CI_COST_PER_MINUTE_BY_RUNNER,
            }
        )
