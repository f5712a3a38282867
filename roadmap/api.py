"""REST API for the roadmap's plan: roadmaps with their themes, and initiatives. Writes go
through roadmap.services (the plan, frozen while a version awaits approval). Versions and their
approval are in roadmap.version_api, deliverables in roadmap.deliverable_api."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from maturity.models import ImprovementAction
from pipelines.models import ChangeRequest
from poc.models import Decision
from portal.access import access_for
from portal.api import SLUG_PATTERN, RoleWritePermission
from portal.models import Team
from portal.strict_fields import (
    KnownFields,
    StrictModelSerializer,
    StrictSlugField,
    named_choice_field,
)
from roadmap import services
from roadmap.filtersets import InitiativeFilterSet, quarter_of
from roadmap.models import (
    Deliverable,
    Initiative,
    Roadmap,
    RoadmapVersion,
    Theme,
)
from roadmap.rag import Rag
from roadmap.selectors import (
    initiative_progress,
)

User = get_user_model()
COLOURS = [colour.value for colour in Rag]
VersionStatus = RoadmapVersion.Status


# --- shared by the roadmap's API modules --------------------------------------------------


InitiativeStatusField = named_choice_field("InitiativeStatusEnum", Initiative.Status)
DeliverableStatusField = named_choice_field("DeliverableStatusEnum", Deliverable.Status)
VersionStatusField = named_choice_field("RoadmapVersionStatusEnum", RoadmapVersion.Status)


def _users():
    return User.objects.filter(is_active=True)


class WriteRoles:
    """Role checks before the body is read (403 rather than a 400 about its content); the
    services check again."""

    permission_classes = [*viewsets.GenericViewSet.permission_classes, RoleWritePermission]

    @property
    def access(self):
        return access_for(self.request.user)

    def role_may_write(self, access) -> bool:
        return access.is_lead

    @staticmethod
    def require(allowed: bool, message: str = RoleWritePermission.message) -> None:
        if not allowed:
            raise PermissionDenied(message)


# --- roadmaps and themes -------------------------------------------------------------------


class ThemeSerializer(KnownFields, StrictModelSerializer):
    class Meta:
        model = Theme
        fields = ["slug", "name", "description", "position"]
        read_only_fields = ["slug", "position"]


class ThemeBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["slug", "name"]


class PendingVersionSerializer(serializers.ModelSerializer):
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RoadmapVersion
        fields = ["number", "note", "submitted_by", "submitted_at"]


class RoadmapSerializer(KnownFields, StrictModelSerializer):
    approvers = serializers.SlugRelatedField(
        slug_field="username",
        queryset=_users(),
        many=True,
        required=False,
        help_text="The stakeholders who decide on versions (usernames).",
    )
    themes = ThemeBriefSerializer(many=True, read_only=True)
    draft = serializers.SerializerMethodField(
        help_text="The draft's number (none while one awaits approval)."
    )
    approved = serializers.SerializerMethodField(help_text="The latest approved version's number.")
    pending = serializers.SerializerMethodField(help_text="Versions awaiting approval.")

    class Meta:
        model = Roadmap
        fields = [
            "slug", "name", "description", "approvers", "approval_rule", "quorum", "themes",
            "draft", "approved", "pending", "created_at",
        ]  # fmt: skip
        read_only_fields = ["slug", "created_at"]

    @staticmethod
    def _versions(roadmap, status: str) -> list[RoadmapVersion]:
        return [v for v in roadmap.versions.all() if v.status == status]  # prefetched, newest first

    def get_draft(self, roadmap) -> int | None:
        return next((v.number for v in self._versions(roadmap, VersionStatus.DRAFT)), None)

    def get_approved(self, roadmap) -> int | None:
        return next((v.number for v in self._versions(roadmap, VersionStatus.APPROVED)), None)

    @extend_schema_field(PendingVersionSerializer(many=True))
    def get_pending(self, roadmap):
        waiting = self._versions(roadmap, VersionStatus.SUBMITTED)
        return PendingVersionSerializer(waiting, many=True).data


class RoadmapViewSet(
    WriteRoles, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Roadmaps, readable by everyone signed in. Leads create and edit them (the approval rule
    applies to versions submitted from then on) and add themes (``POST /<slug>/themes/``).
    Versions: ``/roadmaps/<slug>/versions/``."""

    serializer_class = RoadmapSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        versions = RoadmapVersion.objects.select_related("submitted_by").order_by("-number")
        return Roadmap.objects.prefetch_related(
            "approvers", "themes", Prefetch("versions", versions)
        )

    def perform_create(self, serializer):
        roadmap = services.roadmap_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=roadmap.pk)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        approvers = data.pop("approvers", None)
        roadmap = services.roadmap_update(
            actor=self.request.user, roadmap=serializer.instance, approvers=approvers, **data
        )
        serializer.instance = self.get_queryset().get(pk=roadmap.pk)

    @extend_schema(request=ThemeSerializer, responses={201: ThemeSerializer})
    @action(detail=True, methods=["post"])
    def themes(self, request, slug=None):
        """Add a theme (refused while a version awaits approval)."""
        roadmap = self.get_object()
        body = ThemeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        theme = services.theme_create(actor=request.user, roadmap=roadmap, **body.validated_data)
        return Response(ThemeSerializer(theme).data, status=201)


# --- initiatives ---------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class PocDecisionField(serializers.SlugRelatedField):
    """A POC decision, named by its POC's slug."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="poc__slug", queryset=Decision.objects.all(), **kwargs)

    def to_representation(self, decision):
        return decision.poc.slug


@extend_schema_field({"type": "string", "pattern": "^CR-[0-9]+$"})
class ChangeRequestKeyField(serializers.RelatedField):
    """A change request, named by its key (CR-12)."""

    default_error_messages = {"unknown": "No change request {name}.", "invalid": "A key: CR-12."}

    def __init__(self, **kwargs):
        super().__init__(queryset=ChangeRequest.objects.all(), **kwargs)

    def to_representation(self, change_request):
        return change_request.key

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(r"(?i)CR-\d{1,9}", data):
            self.fail("invalid")
        found = self.get_queryset().filter(number=int(data[3:])).first()
        if found is None:
            self.fail("unknown", name=data.upper())
        return found


class ProgressSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    total = serializers.IntegerField()


class InitiativeSerializer(KnownFields, StrictModelSerializer):
    # Both land in validated_data["theme"]; validate() turns them into the Theme.
    roadmap = serializers.SlugRelatedField(
        slug_field="slug", queryset=Roadmap.objects.all(), source="theme.roadmap"
    )
    theme = StrictSlugField(
        source="theme.slug", max_length=100, help_text="A theme slug of the roadmap."
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=_users(), required=False, allow_null=True
    )
    teams = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), many=True, required=False
    )
    depends_on = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Initiative.objects.all(),
        many=True,
        required=False,
        help_text="Initiative slugs, on the same roadmap.",
    )
    improvement_actions = serializers.PrimaryKeyRelatedField(
        queryset=ImprovementAction.objects.all(),
        many=True,
        required=False,
        help_text="Maturity improvement action ids.",
    )
    poc_decisions = PocDecisionField(
        many=True, required=False, help_text="Slugs of decided POCs whose decision this follows."
    )
    change_requests = ChangeRequestKeyField(
        many=True, required=False, help_text="Keys of the customer change requests it delivers."
    )
    status = InitiativeStatusField(choices=Initiative.Status.choices, required=False)
    quarter = serializers.SerializerMethodField(help_text="The quarter it starts in.")
    progress = serializers.SerializerMethodField(help_text="Accepted deliverables of all.")
    deliverables = serializers.SerializerMethodField(help_text="Those you may see.")

    class Meta:
        model = Initiative
        fields = [
            "slug", "title", "description", "roadmap", "theme", "owner", "teams", "starts_on",
            "ends_on", "quarter", "status", "depends_on", "improvement_actions",
            "poc_decisions", "change_requests", "progress", "deliverables",
        ]  # fmt: skip
        read_only_fields = ["slug"]

    def validate(self, attrs):
        wanted = attrs.pop("theme", None)
        if wanted is not None:
            roadmap = wanted.get("roadmap") or self.instance.theme.roadmap
            theme = Theme.objects.filter(roadmap=roadmap, slug=wanted["slug"]).first()
            if theme is None:
                raise serializers.ValidationError({"theme": [f"No such theme on {roadmap.name}."]})
            attrs["theme"] = theme
        return attrs

    def get_quarter(self, initiative) -> str:
        return quarter_of(initiative.starts_on)

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, initiative):
        accepted, total = initiative_progress(initiative)
        return {"accepted": accepted, "total": total}

    def get_deliverables(self, initiative) -> list[str]:
        access = access_for(self.context["request"].user)
        return [d.slug for d in initiative.deliverables.all() if access.can_see_team(d.team_id)]


class InitiativeUpdateSerializer(InitiativeSerializer):
    roadmap = None  # initiatives stay on their roadmap; the theme is one of it

    class Meta(InitiativeSerializer.Meta):
        fields = [f for f in InitiativeSerializer.Meta.fields if f != "roadmap"]


class InitiativeViewSet(WriteRoles, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Initiatives of every roadmap. Leads create and edit them; refused (409) while a version
    of their roadmap awaits approval."""

    serializer_class = InitiativeSerializer
    filterset_class = InitiativeFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["starts_on", "title"]
    ordering_fields = ["starts_on", "ends_on", "title"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Initiative.objects.select_related("theme__roadmap", "owner").prefetch_related(
            "teams",
            "depends_on",
            "improvement_actions",
            "poc_decisions__poc",
            "deliverables",
            "change_requests",
        )

    def perform_create(self, serializer):
        initiative = services.initiative_create(
            actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = self.get_queryset().get(pk=initiative.pk)

    @extend_schema(request=InitiativeUpdateSerializer, responses={200: InitiativeSerializer})
    def partial_update(self, request, *args, **kwargs):
        initiative = self.get_object()
        body = InitiativeUpdateSerializer(initiative, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.initiative_update(actor=request.user, initiative=initiative, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=initiative.pk)).data)
