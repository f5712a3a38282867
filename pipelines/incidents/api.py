"""REST API of incidents: ``/api/v1/incidents/``.

Reading gives the workflow's state (severity, status, owner team, commander, its moments),
the deployment the incident is attributed to (explicitly or by time) and its review; one
incident adds its timeline. Writing keeps the push API's contract (``POST`` with
``external_id``, ``service``, ``title``, ``opened_at``, ``resolved_at``, ``deployment``: 201
new, 200 updated; the state and timeline follow what was pushed) and adds the workflow:
``open/``, ``<id>/triage/``, ``<id>/notes/``, ``<id>/acknowledge/``, ``<id>/mitigate/``,
``<id>/resolve/``, ``<id>/reopen/``; ``report/`` reads MTTA, MTTR, incidents per deployment
and repeat causes. Steps out of order are 409s naming the state.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from pipelines import push_api
from pipelines import services as pipeline_services
from pipelines.incidents import selectors, services
from pipelines.incidents.filtersets import IncidentFilterSet
from pipelines.incidents.report_api import IncidentReportQuerySerializer, IncidentReportSerializer
from pipelines.incidents.reports import incident_report
from pipelines.models import IncidentEvent, IncidentStatus, PostIncidentReview, Severity
from portal.access import access_for, visible_services, visible_teams
from portal.api import RoleWritePermission
from portal.models import Service, Team
from portal.strict_fields import KnownFields, StrictCharField, StrictChoiceField, named_choice_field

User = get_user_model()


SeverityField = named_choice_field("IncidentSeverityEnum", Severity)
# Read: "" until triaged (the push API's incidents, tools without a severity).
SeverityOrBlankField = extend_schema_field(
    {"type": "string", "enum": [*Severity.values, ""]},
    component_name="IncidentSeverityOrBlankEnum",
)(type("SeverityOrBlankField", (StrictChoiceField,), {}))
IncidentStatusField = named_choice_field("IncidentStatusEnum", IncidentStatus)
EventKindField = named_choice_field("IncidentEventKindEnum", IncidentEvent.Kind)
ReviewStatusField = named_choice_field("PostIncidentReviewStatusEnum", PostIncidentReview.Status)


class WritePermission(RoleWritePermission):
    """Roles that can never write here (viewers, stakeholders) get 403 before the body is read;
    the services check the incident's teams."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        access = access_for(request.user)
        return access.is_lead or any(access.works_in(t) for t in access.team_ids)


# --- output -----------------------------------------------------------------------------------


class AttributedDeploymentSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    environment = serializers.CharField(source="environment.slug")
    sha = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    explicit = serializers.BooleanField(
        help_text="Named by the source (true) or the last production deployment before (false)."
    )


class ReviewBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = ReviewStatusField(choices=PostIncidentReview.Status.choices)
    due_on = serializers.DateField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = EventKindField(choices=IncidentEvent.Kind.choices)
    who = serializers.CharField(help_text="A portal user's name, or as the tool names them.")
    text = serializers.CharField()


class IncidentSerializer(push_api.IncidentSerializer):
    """The push API's incident (its writable fields unchanged) and the workflow's state."""

    severity = SeverityOrBlankField(
        choices=Severity.choices, read_only=True, help_text='"" until triaged.'
    )
    status = IncidentStatusField(choices=IncidentStatus.choices, read_only=True)
    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    attributed_deployment = serializers.SerializerMethodField(
        help_text="The deployment it is attributed to (docs/metrics.md rule 4), or null."
    )
    review = serializers.SerializerMethodField()

    class Meta(push_api.IncidentSerializer.Meta):
        fields = [
            *push_api.IncidentSerializer.Meta.fields,
            "severity", "status", "acknowledged_at", "mitigated_at", "owner_team", "commander",
            "summary", "labels", "attributed_deployment", "review",
        ]  # fmt: skip
        read_only_fields = [
            "url", "acknowledged_at", "mitigated_at", "summary", "labels",
        ]  # fmt: skip

    @extend_schema_field(AttributedDeploymentSerializer(allow_null=True))
    def get_attributed_deployment(self, incident):
        attributed = self.context.get("attributed")
        if attributed is None or incident.pk not in attributed:
            deployment = selectors.attributed_deployment(incident)
        else:
            deployment = attributed[incident.pk]
        if deployment is None:
            return None
        deployment.explicit = deployment.pk == incident.deployment_id
        return AttributedDeploymentSerializer(deployment).data

    @extend_schema_field(ReviewBriefSerializer(allow_null=True))
    def get_review(self, incident):
        review = getattr(incident, "review", None)
        return ReviewBriefSerializer(review).data if review is not None else None


class IncidentDetailSerializer(IncidentSerializer):
    timeline = serializers.SerializerMethodField(help_text="Oldest first.")

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "timeline"]

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, incident):
        return TimelineEntrySerializer(selectors.incident_timeline(incident), many=True).data


# --- input ------------------------------------------------------------------------------------


def _visible_teams_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.none(), **kwargs)


def _commander_field():
    return serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        allow_null=True,
        required=False,
        help_text="Username (null: nobody).",
    )


class _TeamsInput(KnownFields, serializers.Serializer):
    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A team the caller cannot see is an unknown slug: 400, no hint that it exists.
            fields["owner_team"].queryset = visible_teams(request.user)
        return fields


class TriageSerializer(_TeamsInput):
    severity = SeverityField(choices=Severity.choices, required=False)
    owner_team = _visible_teams_field(
        allow_null=True, required=False, help_text="Team slug (null: the service's team)."
    )
    commander = _commander_field()


class OpenSerializer(_TeamsInput):
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.none(), help_text="Service slug."
    )
    title = StrictCharField(max_length=500)
    severity = SeverityField(choices=Severity.choices, required=False)
    summary = StrictCharField(required=False, allow_blank=True, max_length=20000)
    opened_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    owner_team = _visible_teams_field(allow_null=True, required=False, help_text="Team slug.")
    commander = _commander_field()

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["service"].queryset = visible_services(request.user)
        return fields


class StepSerializer(KnownFields, serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="When (default: now).")
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class ReopenSerializer(KnownFields, serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class NoteSerializer(KnownFields, serializers.Serializer):
    text = StrictCharField(max_length=5000)


# --- the resource -----------------------------------------------------------------------------


class IncidentViewSet(push_api.PushViewSet):
    """Incidents of the services the caller sees (and those their teams own)."""

    model = push_api.Incident
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    permission_classes = [*push_api.PushViewSet.permission_classes, WritePermission]
    ordering_fields = ["opened_at", "resolved_at"]
    ordering = ["-opened_at"]

    def get_queryset(self):
        return selectors.visible_incidents(self.request.user).select_related(
            "service", "deployment", "source", "owner_team", "commander", "review"
        )

    def get_serializer_class(self):
        if self.action in ("list", "create"):
            return IncidentSerializer
        return IncidentDetailSerializer

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # Attribution for the whole page at once, not a query per incident.
        context = {
            **self.get_serializer_context(),
            "attributed": selectors.attributed_deployments(page),
        }
        return self.get_paginated_response(
            IncidentSerializer(page, many=True, context=context).data
        )

    def push(self, data):
        with transaction.atomic():  # the push and its state: both or neither
            incident, created = pipeline_services.incident_push(actor=self.request.user, **data)
            services.incident_push_follow(actor=self.request.user, incident=incident)
        return incident, created

    def _answer(self, incident, status: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=incident.pk)
        return Response(IncidentDetailSerializer(fresh).data, status=status)

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(request=OpenSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=False, methods=["post"])
    def open(self, request):
        """Open an incident in the portal (what no alert caught), for a service of your team."""
        incident = services.incident_open(actor=request.user, **self._body(OpenSerializer))
        return self._answer(incident, 201)

    @extend_schema(request=TriageSerializer, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def triage(self, request, pk=None):
        """Severity, owner team, commander: what is given changes, the rest stays."""
        incident = self.get_object()
        services.incident_triage(
            actor=request.user, incident=incident, **self._body(TriageSerializer)
        )
        return self._answer(incident)

    @extend_schema(request=NoteSerializer, responses={201: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        """An update on the timeline."""
        incident = self.get_object()
        services.incident_note(actor=request.user, incident=incident, **self._body(NoteSerializer))
        return self._answer(incident, 201)

    def _step(self, service):
        incident = self.get_object()
        service(actor=self.request.user, incident=incident, **self._body(StepSerializer))
        return self._answer(incident)

    @extend_schema(request=StepSerializer, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Someone is on it (triggered incidents only)."""
        return self._step(services.incident_acknowledge)

    @extend_schema(request=StepSerializer, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def mitigate(self, request, pk=None):
        """The impact is contained (triggered or acknowledged incidents)."""
        return self._step(services.incident_mitigate)

    @extend_schema(request=StepSerializer, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Over (any open incident); the review policy may create its draft review."""
        return self._step(services.incident_resolve)

    @extend_schema(request=ReopenSerializer, responses={200: IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """It came back (resolved incidents only)."""
        incident = self.get_object()
        services.incident_reopen(
            actor=request.user, incident=incident, **self._body(ReopenSerializer)
        )
        return self._answer(incident)

    @extend_schema(parameters=[IncidentReportQuerySerializer], responses=IncidentReportSerializer)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def report(self, request):
        """MTTA and MTTR by severity and team, incidents per production deployment per team,
        repeat alerts and repeat cause tags, over the incidents opened in the range
        (default: the last 90 days)."""
        query = IncidentReportQuerySerializer(
            data=request.query_params.dict(), context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        report = incident_report(user=request.user, **query.validated_data)
        return Response(IncidentReportSerializer(report).data)
