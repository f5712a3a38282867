"""REST API of change requests: ``/api/v1/change-requests/``, addressed by key (``CR-12``).

Reads are scoped to the teams the caller sees (another team's request is a 404). Writes go
through pipelines.change_requests.services; roles that can never write are refused (403)
before the body is read.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pipelines.change_requests import selectors, services
from pipelines.change_requests.filtersets import ChangeRequestFilterSet
from pipelines.change_requests.linking import KEY_URL_PATTERN, parse_key
from pipelines.change_requests.serializers import (
    ChangeRequestChangeSerializer,
    ChangeRequestDeliveredBySerializer,
    ChangeRequestDeploymentSerializer,
    ChangeRequestMomentSerializer,
    ChangeRequestPathStepSerializer,
    CustomerLeadTimeQuerySerializer,
    TeamCustomerLeadTimeSerializer,
)
from pipelines.models import ChangeRequest
from portal.access import access_for, visible_services, visible_teams
from portal.api import RoleWritePermission
from portal.models import Role, Service, Team
from portal.strict_fields import (
    KnownFields,
    StrictCharField,
    StrictModelSerializer,
    named_choice_field,
)

StatusField = named_choice_field("ChangeRequestStatusEnum", ChangeRequest.Status)
ValueField = named_choice_field("ChangeRequestValueEnum", ChangeRequest.Value)
UrgencyField = named_choice_field("ChangeRequestUrgencyEnum", ChangeRequest.Urgency)


# --- the resource -----------------------------------------------------------------------------


class ChangeRequestSerializer(KnownFields, StrictModelSerializer):
    key = serializers.CharField(read_only=True, help_text="CR-<number>: mention it in commits.")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    value = ValueField(choices=ChangeRequest.Value.choices, required=False)
    urgency = UrgencyField(choices=ChangeRequest.Urgency.choices, required=False)
    status = StatusField(choices=ChangeRequest.Status.choices, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    delivered_by = ChangeRequestDeliveredBySerializer(
        read_only=True, allow_null=True, help_text="The first production deployment carrying it."
    )
    customer_lead_time_seconds = serializers.SerializerMethodField(
        help_text="Accepted to delivered, in seconds (null until delivered)."
    )

    class Meta:
        model = ChangeRequest
        fields = [
            "key", "number", "title", "description", "requester", "value", "urgency", "team",
            "status", "triage_comment", "created_by", "created_at", "accepted_at",
            "delivered_at", "delivered_by", "customer_lead_time_seconds",
        ]  # fmt: skip
        read_only_fields = [
            "number", "triage_comment", "created_at", "accepted_at", "delivered_at",
        ]  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "team" in fields:
            # A team the caller cannot see is an unknown slug: 400, no hint that it exists.
            fields["team"].queryset = visible_teams(request.user)
        return fields

    def get_customer_lead_time_seconds(self, request) -> float | None:
        return selectors.customer_lead_time(request)


def followed_of(request: ChangeRequest) -> selectors.Followed:
    followed = getattr(request, "_followed", None)
    if followed is None:
        followed = request._followed = selectors.change_request_followed(request)
    return followed


class ChangeRequestDetailSerializer(ChangeRequestSerializer):
    started_at = serializers.SerializerMethodField(help_text="When work started (in progress).")
    changes = serializers.SerializerMethodField(help_text="Oldest commit first.")
    deployments = serializers.SerializerMethodField(help_text="In finishing order.")
    path_to_production = serializers.SerializerMethodField(
        help_text="Every environment in promotion order, and when the request first got there."
    )
    timeline = serializers.SerializerMethodField()

    class Meta(ChangeRequestSerializer.Meta):
        fields = [
            *ChangeRequestSerializer.Meta.fields,
            "started_at", "changes", "deployments", "path_to_production", "timeline",
        ]  # fmt: skip

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_started_at(self, request):
        started_at = followed_of(request).started_at
        if started_at is None:
            return None
        return serializers.DateTimeField().to_representation(started_at)

    @extend_schema_field(ChangeRequestChangeSerializer(many=True))
    def get_changes(self, request):
        return ChangeRequestChangeSerializer(followed_of(request).changes, many=True).data

    @extend_schema_field(ChangeRequestDeploymentSerializer(many=True))
    def get_deployments(self, request):
        return ChangeRequestDeploymentSerializer(followed_of(request).deployments, many=True).data

    @extend_schema_field(ChangeRequestPathStepSerializer(many=True))
    def get_path_to_production(self, request):
        return ChangeRequestPathStepSerializer(followed_of(request).path, many=True).data

    @extend_schema_field(ChangeRequestMomentSerializer(many=True))
    def get_timeline(self, request):
        return ChangeRequestMomentSerializer(followed_of(request).timeline, many=True).data


class ChangeRequestUpdateSerializer(KnownFields, StrictModelSerializer):
    value = ValueField(choices=ChangeRequest.Value.choices, required=False)
    urgency = UrgencyField(choices=ChangeRequest.Urgency.choices, required=False)

    class Meta:
        model = ChangeRequest
        fields = ["title", "description", "value", "urgency"]


class ChangeRequestAcceptSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class ChangeRequestRejectSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(max_length=5000, help_text="Why: required.")


class ChangeRequestLinkSerializer(KnownFields, serializers.Serializer):
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.none(), help_text="Service slug."
    )
    change = StrictCharField(
        required=False, max_length=64, help_text="A commit sha of the service (7+ characters)."
    )
    deployment = StrictCharField(
        required=False, max_length=300, help_text="A deployment's external id, of the service."
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["service"].queryset = visible_services(request.user)
        return fields

    def validate(self, attrs):
        if ("change" in attrs) == ("deployment" in attrs):
            raise serializers.ValidationError(
                {"change": ["Give a change or a deployment."], "deployment": ["Not both."]}
            )
        service = attrs["service"]
        if "change" in attrs:
            return {"change": selectors.change_find(service=service, sha=attrs["change"])}
        return {
            "deployment": selectors.deployment_find(
                service=service, external_id=attrs["deployment"]
            )
        }


class WritePermission(RoleWritePermission):
    """Roles that can never write here (viewers, stakeholders) get 403 before the body is read;
    the services check the request's team."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        access = access_for(request.user)
        if view.action in ("accept", "reject"):
            return access.is_lead or any(
                access.has_team_role(t, Role.ADMIN, Role.LEAD) for t in access.team_ids
            )
        return access.is_lead or any(access.works_in(t) for t in access.team_ids)


class ChangeRequestViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Customer change requests. Members raise them for their teams (leads for any), leads
    accept or reject them, the team starts them; production delivers them. Changes and
    deployments mentioning the key (``CR-12``) are linked automatically, others by hand
    (``.../links/``)."""

    serializer_class = ChangeRequestSerializer
    filterset_class = ChangeRequestFilterSet
    permission_classes = [*viewsets.GenericViewSet.permission_classes, WritePermission]
    lookup_field = "number"
    lookup_url_kwarg = "key"
    lookup_value_regex = KEY_URL_PATTERN
    ordering = ["-number"]
    ordering_fields = ["number", "created_at", "accepted_at", "delivered_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.visible_change_requests(self.request.user).select_related(
            "team", "created_by", "delivered_by__service", "delivered_by__environment"
        )

    def get_serializer_class(self):
        return ChangeRequestSerializer if self.action == "list" else ChangeRequestDetailSerializer

    def get_object(self):
        number = parse_key(self.kwargs[self.lookup_url_kwarg])
        request = self.get_queryset().filter(number=number).first() if number else None
        if request is None:
            raise Http404("No such change request.")
        self.check_object_permissions(self.request, request)
        return request

    def _answer(self, request: ChangeRequest, status: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=request.pk)
        return Response(ChangeRequestDetailSerializer(fresh).data, status=status)

    @extend_schema(request=ChangeRequestSerializer, responses={201: ChangeRequestDetailSerializer})
    def create(self, request, *args, **kwargs):
        body = ChangeRequestSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        created = services.cr_create(actor=request.user, **body.validated_data)
        return self._answer(created, 201)

    @extend_schema(
        request=ChangeRequestUpdateSerializer, responses={200: ChangeRequestDetailSerializer}
    )
    def partial_update(self, request, *args, **kwargs):
        change_request = self.get_object()
        body = ChangeRequestUpdateSerializer(change_request, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.cr_update(actor=request.user, request=change_request, **body.validated_data)
        return self._answer(change_request)

    @extend_schema(
        request=ChangeRequestAcceptSerializer, responses={200: ChangeRequestDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, key=None):
        """A lead accepts it (intake only): the customer lead time starts."""
        change_request = self.get_object()
        body = ChangeRequestAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cr_triage(
            actor=request.user, request=change_request, decision="accept", **body.validated_data
        )
        return self._answer(change_request)

    @extend_schema(
        request=ChangeRequestRejectSerializer, responses={200: ChangeRequestDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, key=None):
        """A lead rejects it (intake only), saying why."""
        change_request = self.get_object()
        body = ChangeRequestRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cr_triage(
            actor=request.user, request=change_request, decision="reject", **body.validated_data
        )
        return self._answer(change_request)

    @extend_schema(request=None, responses={200: ChangeRequestDetailSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, key=None):
        """The team starts work on an accepted request."""
        change_request = self.get_object()
        services.cr_start(actor=request.user, request=change_request)
        return self._answer(change_request)

    @extend_schema(
        methods=["POST"],
        request=ChangeRequestLinkSerializer,
        responses={
            201: ChangeRequestDetailSerializer,
            200: OpenApiResponse(ChangeRequestDetailSerializer, description="Linked already."),
        },
        description="Link a change (`change`: sha) or a deployment (`deployment`: external id) "
        "of `service` by hand.",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ChangeRequestLinkSerializer],
        request=None,
        responses={204: None},
        description="Remove a hand link (links by key stay).",
    )
    @action(detail=True, methods=["post", "delete"])
    def links(self, request, key=None):
        change_request = self.get_object()
        data = request.data if request.method == "POST" else request.query_params.dict()
        body = ChangeRequestLinkSerializer(data=data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        if request.method == "DELETE":
            services.cr_unlink(actor=request.user, request=change_request, **body.validated_data)
            return Response(status=204)
        created = services.cr_link(
            actor=request.user, request=change_request, **body.validated_data
        )
        return self._answer(change_request, 201 if created else 200)

    @extend_schema(
        parameters=[CustomerLeadTimeQuerySerializer],
        responses=TeamCustomerLeadTimeSerializer(many=True),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="lead-time",
        filter_backends=[],
        pagination_class=None,
    )
    def lead_time(self, request):
        """Customer lead time per team (median, accepted to delivered) over the last months and
        per month, beside the team's DORA lead time for changes."""
        query = CustomerLeadTimeQuerySerializer(
            data=request.query_params.dict(), context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        report = selectors.team_lead_times(
            user=request.user,
            today=timezone.now().date(),
            months=query.validated_data["months"],
            team=query.validated_data.get("team"),
        )
        return Response(TeamCustomerLeadTimeSerializer(report.teams, many=True).data)
