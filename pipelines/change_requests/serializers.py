"""Read-only pieces of the change-request API's answers: what carries a request, its path
and timeline, and the customer lead time per team (pipelines.change_requests.api uses them)."""

from __future__ import annotations

from rest_framework import serializers

from portal.access import visible_teams
from portal.models import Team
from portal.strict_fields import KnownFields

# --- output pieces ----------------------------------------------------------------------------


class ChangeRequestDeliveredBySerializer(serializers.Serializer):
    external_id = serializers.CharField()
    service = serializers.CharField(source="service.slug")
    environment = serializers.CharField(source="environment.slug")
    finished_at = serializers.DateTimeField()


class ChangeRequestChangeSerializer(serializers.Serializer):
    service = serializers.CharField(source="record.service.slug")
    sha = serializers.CharField(source="record.sha")
    title = serializers.CharField(source="record.title")
    pull_request = serializers.CharField(source="record.pull_request")
    committed_at = serializers.DateTimeField(source="record.committed_at")
    url = serializers.CharField(source="record.url")
    by_key = serializers.BooleanField(help_text="Its title or pull request mentions the key.")
    by_hand = serializers.BooleanField(help_text="Linked by hand.")


class ChangeRequestDeploymentSerializer(serializers.Serializer):
    service = serializers.CharField(source="record.service.slug")
    environment = serializers.CharField(source="record.environment.slug")
    external_id = serializers.CharField(source="record.external_id")
    sha = serializers.CharField(source="record.sha")
    ref = serializers.CharField(source="record.ref")
    status = serializers.CharField(source="record.status")
    finished_at = serializers.DateTimeField(source="record.finished_at", allow_null=True)
    url = serializers.CharField(source="record.url")
    by_key = serializers.BooleanField(
        help_text="Its ref or one of its changes mentions the key (since the request exists)."
    )
    by_hand = serializers.BooleanField(help_text="Linked by hand, or carries a hand-linked change.")


class ChangeRequestPathStepSerializer(serializers.Serializer):
    environment = serializers.CharField(source="environment.slug")
    name = serializers.CharField(source="environment.name")
    is_production = serializers.BooleanField(source="environment.is_production")
    reached_at = serializers.DateTimeField(
        allow_null=True, help_text="First successful deployment carrying it there (null: not yet)."
    )
    service = serializers.CharField(source="deployment.service.slug", allow_null=True, default=None)
    deployment = serializers.CharField(
        source="deployment.external_id", allow_null=True, default=None
    )
    sha = serializers.CharField(source="deployment.sha", allow_null=True, default=None)
    deployments = serializers.IntegerField(
        source="count", help_text="Successful deployments carrying it there."
    )


class ChangeRequestMomentSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    what = serializers.CharField()
    detail = serializers.CharField()


class CustomerLeadTimeQuerySerializer(KnownFields, serializers.Serializer):
    months = serializers.IntegerField(
        required=False, default=6, min_value=1, max_value=24, help_text="Calendar months."
    )
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.none(), required=False, help_text="Team slug."
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["team"].queryset = visible_teams(request.user)
        return fields


class CustomerLeadTimeCellSerializer(serializers.Serializer):
    start = serializers.DateField(source="window.start")
    end = serializers.DateField(source="window.end")
    requests = serializers.IntegerField(help_text="Requests delivered in the period.")
    customer_lead_time_median = serializers.FloatField(
        source="customer_median", allow_null=True, help_text="Seconds."
    )
    dora_lead_time_median = serializers.FloatField(
        source="dora_median", allow_null=True, help_text="Lead time for changes, seconds."
    )
    dora_changes = serializers.IntegerField()


class TeamCustomerLeadTimeSerializer(serializers.Serializer):
    team = serializers.CharField(source="team.slug")
    name = serializers.CharField(source="team.name")
    total = CustomerLeadTimeCellSerializer()
    months = CustomerLeadTimeCellSerializer(many=True)
