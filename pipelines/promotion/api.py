"""``GET /api/v1/services/<slug>/promotion/``: what the service runs in each environment."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.promotion.selectors import service_promotion
from portal.selectors import service_get


class PromotionDeployedSerializer(serializers.Serializer):
    deployment = serializers.CharField(source="deployment.external_id")
    sha = serializers.CharField()
    ref = serializers.CharField()
    finished_at = serializers.DateTimeField()
    age_seconds = serializers.IntegerField(help_text="How long ago it finished.")
    by = serializers.CharField(help_text="The pipeline run that deployed it, else the source.")
    url = serializers.CharField()


class PromotionEnvironmentSerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.slug")
    name = serializers.CharField(source="environment.name")
    is_production = serializers.BooleanField(source="environment.is_production")
    deployed = PromotionDeployedSerializer(
        allow_null=True, help_text="The latest successful deployment there (null: none)."
    )


class ServicePromotionSerializer(serializers.Serializer):
    service = serializers.CharField(source="service.slug")
    name = serializers.CharField(source="service.name")
    team = serializers.CharField(source="service.team.slug")
    environments = PromotionEnvironmentSerializer(
        source="cells", many=True, help_text="Every environment, in promotion order."
    )
    production_changed_at = serializers.DateTimeField(
        source="production.finished_at", allow_null=True, default=None
    )
    production_environment = serializers.CharField(
        source="production.environment.slug", allow_null=True, default=None
    )
    pre_production = serializers.CharField(
        source="pre_production.slug",
        allow_null=True,
        default=None,
        help_text="The last non-production environment it deploys to before production.",
    )
    changes_waiting = serializers.IntegerField(
        help_text="Changes deployed to pre-production after production last changed and not "
        "carried to production yet."
    )
    waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="When the oldest of them reached pre-production."
    )


class ServicePromotionView(APIView):
    """What the service runs in each environment now, what waits between pre-production and
    production, and when production last changed (definitions: docs/change-requests.md). A
    service the caller cannot see is a 404."""

    @extend_schema(responses=ServicePromotionSerializer, operation_id="services_promotion")
    def get(self, request, slug: str):
        service = service_get(user=request.user, slug=slug)
        promotion = service_promotion(service=service)
        return Response(ServicePromotionSerializer(promotion.services[0]).data)
