"""REST API for a roadmap's versions: the draft, what was submitted and what stakeholders
decided, with the changes against the previous approved version. Leads submit the draft; the
stakeholders named on a submitted version approve it or request changes (roadmap.versions)."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.access import access_for
from portal.models import Team
from portal.strict_fields import KnownFields, StrictCharField
from roadmap import versions
from roadmap.api import VersionStatusField, WriteRoles
from roadmap.models import Roadmap, RoadmapVersion, VersionDecision
from roadmap.selectors import changes_of, snapshot_of

Status = RoadmapVersion.Status


class DecisionSerializer(serializers.ModelSerializer):
    decider = serializers.CharField(source="decider.username", read_only=True)

    class Meta:
        model = VersionDecision
        fields = ["decider", "role", "kind", "comment", "decided_at"]
        read_only_fields = fields


class PlanChangeSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="added, removed, moved or changed")
    item = serializers.CharField(help_text="theme, initiative or deliverable")
    slug = serializers.CharField()
    title = serializers.CharField()
    text = serializers.CharField(help_text="In words, e.g. “moved from Q1 2027 to Q2 2027”.")


class VersionSerializer(serializers.ModelSerializer):
    status = VersionStatusField(choices=Status.choices, read_only=True)
    submitted_by = serializers.CharField(
        source="submitted_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RoadmapVersion
        fields = ["number", "status", "note", "submitted_by", "submitted_at", "decided_at"]
        read_only_fields = fields


class VersionDetailSerializer(VersionSerializer):
    approvers = serializers.SerializerMethodField(help_text="Usernames, in alphabetical order.")
    approvals_needed = serializers.SerializerMethodField(
        help_text="Approvals that decide it (null for the draft)."
    )
    decisions = DecisionSerializer(many=True, read_only=True)
    compared_with = serializers.SerializerMethodField(
        help_text="The approved version the changes are against (null: none before)."
    )
    changes = serializers.SerializerMethodField(
        help_text="The plan against the previous approved version (the live plan for the draft)."
    )

    class Meta(VersionSerializer.Meta):
        fields = [
            *VersionSerializer.Meta.fields,
            "snapshot", "approval_rule", "quorum", "approvers", "approvals_needed", "decisions",
            "compared_with", "changes",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"snapshot": {"help_text": "The plan as submitted (null for the draft)."}}

    @staticmethod
    def _changes(version):
        if not hasattr(version, "_roadmap_changes"):
            version._roadmap_changes = changes_of(version)
        return version._roadmap_changes

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_approvers(self, version) -> list[str]:
        # Sorted here: a many-to-many has no order of its own (nor does auth's User).
        return sorted(user.username for user in version.approvers.all())

    def get_approvals_needed(self, version) -> int | None:
        return None if version.status == Status.DRAFT else versions.needed(version)

    def get_compared_with(self, version) -> int | None:
        previous, _changes = self._changes(version)
        return previous.number if previous else None

    @extend_schema_field(PlanChangeSerializer(many=True))
    def get_changes(self, version):
        _previous, changes = self._changes(version)
        return [
            {"kind": c.kind, "item": c.item, "slug": c.slug, "title": c.title, "text": c.text}
            for c in changes
        ]

    def to_representation(self, version):
        data = super().to_representation(version)
        access = access_for(self.context["request"].user)
        if access.sees_all_teams:
            return data
        # Members and viewers see their teams' deliverables only, in the plan as elsewhere.
        mine = set(Team.objects.filter(pk__in=access.team_ids).values_list("slug", flat=True))
        previous, _changes = self._changes(version)
        teams_of = defaultdict(set)  # a deliverable's teams, before and after
        plans = [
            previous.snapshot if previous else None,
            version.snapshot or snapshot_of(version.roadmap),
        ]
        for plan in plans:
            for deliverable in (plan or {}).get("deliverables", []):
                teams_of[deliverable["slug"]].add(deliverable["team"])
        if data["snapshot"]:
            data["snapshot"] = {
                **data["snapshot"],
                "deliverables": [d for d in data["snapshot"]["deliverables"] if d["team"] in mine],
            }
        data["changes"] = [
            c for c in data["changes"] if c["item"] != "deliverable" or teams_of[c["slug"]] & mine
        ]
        return data


class SubmitSerializer(KnownFields, serializers.Serializer):
    note = StrictCharField(
        required=False, allow_blank=True, max_length=10000, default="", help_text="What changed."
    )


class ApproveSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(
        required=False, allow_blank=True, max_length=5000, default="",
        help_text="Optional: with one, the decision is an approval with comments.",
    )  # fmt: skip


class ReasonSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(max_length=5000, help_text="What you would change.")


NUMBER = OpenApiParameter("number", int, OpenApiParameter.PATH, description="The version.")


@extend_schema_view(retrieve=extend_schema(parameters=[NUMBER]))
@extend_schema(
    parameters=[
        OpenApiParameter("roadmap_slug", str, OpenApiParameter.PATH, pattern=r"^[-a-zA-Z0-9_]+$"),
    ]
)
class RoadmapVersionViewSet(WriteRoles, viewsets.ReadOnlyModelViewSet):
    """A roadmap's versions, newest first. ``POST <number>/submit/`` (leads) freezes the draft
    and puts it in front of the approvers; they ``POST <number>/approve/`` (a comment makes it
    an approval with comments) or ``<number>/request-changes/`` (a comment is needed)."""

    lookup_field = "number"
    lookup_value_regex = "[0-9]+"
    ordering = ["-number"]
    ordering_fields = ["number"]

    def role_may_write(self, access) -> bool:
        return access.is_lead if self.action == "submit" else True  # deciders: below

    @cached_property
    def roadmap(self) -> Roadmap:
        return get_object_or_404(Roadmap, slug=self.kwargs["roadmap_slug"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular, without a roadmap
            return RoadmapVersion.objects.none()
        decisions = VersionDecision.objects.select_related("decider")
        return self.roadmap.versions.select_related("roadmap", "submitted_by").prefetch_related(
            "approvers", Prefetch("decisions", decisions)
        )

    def get_serializer_class(self):
        return VersionSerializer if self.action == "list" else VersionDetailSerializer

    def _answer(self, version) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(
        request=SubmitSerializer, responses={200: VersionDetailSerializer}, parameters=[NUMBER]
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, roadmap_slug=None, number=None):
        version = self.get_object()
        body = SubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        versions.version_submit(actor=request.user, version=version, **body.validated_data)
        return self._answer(version)

    def _decide(self, request, body_class, kind: str) -> Response:
        """The service decides what is refused: not submitted (409), not named (403), decided
        twice (409)."""
        version = self.get_object()
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        comment = body.validated_data["comment"]
        if kind == VersionDecision.Kind.APPROVE and comment.strip():
            kind = VersionDecision.Kind.APPROVE_WITH_COMMENTS
        versions.version_decide(actor=request.user, version=version, kind=kind, comment=comment)
        return self._answer(version)

    @extend_schema(
        request=ApproveSerializer, responses={200: VersionDetailSerializer}, parameters=[NUMBER]
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, roadmap_slug=None, number=None):
        """Approve; with a comment, approve with comments."""
        return self._decide(request, ApproveSerializer, VersionDecision.Kind.APPROVE)

    @extend_schema(
        request=ReasonSerializer, responses={200: VersionDetailSerializer}, parameters=[NUMBER]
    )
    @action(detail=True, methods=["post"], url_path="request-changes", url_name="request-changes")
    def request_changes(self, request, roadmap_slug=None, number=None):
        """Send it back: the next draft opens with the plan as it is."""
        return self._decide(request, ReasonSerializer, VersionDecision.Kind.REQUEST_CHANGES)
