"""REST API for deliverables: progress, costs, quality targets, review and RAG."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api import SLUG_PATTERN
from portal.models import Service, Team
from portal.strict_fields import (
    BlankableChoiceField,
    KnownFields,
    StrictBooleanField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictModelSerializer,
)
from roadmap import deliverables, services
from roadmap.api import COLOURS, DeliverableStatusField, WriteRoles
from roadmap.filtersets import DeliverableFilterSet
from roadmap.models import (
    CostEntry,
    Deliverable,
    DeliverableReview,
    Initiative,
    QualityTarget,
)
from roadmap.selectors import (
    DeliverableStatus,
    deliverables_for_rag,
    rag_of,
    visible_deliverables,
)

# --- deliverables --------------------------------------------------------------------------


class TargetSerializer(KnownFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text="For .../targets/<id>/check/.")
    name = StrictCharField(max_length=200)
    metric = BlankableChoiceField(
        choices=QualityTarget.Metric.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Blank: checked by a lead rather than measured.",
    )
    comparison = BlankableChoiceField(
        choices=QualityTarget.Comparison.choices, required=False, allow_blank=True, default=""
    )
    threshold = StrictFloatField(required=False, allow_null=True, default=None)
    window_days = StrictIntegerField(required=False, min_value=1, max_value=365, default=30)
    met = serializers.BooleanField(
        source="result.met", read_only=True, allow_null=True, help_text="null: not known yet."
    )
    detail = serializers.CharField(source="result.detail", read_only=True)
    check_note = serializers.CharField(read_only=True)


class VerdictSerializer(serializers.Serializer):
    colour = serializers.ChoiceField(choices=COLOURS)
    reason = serializers.CharField()


class RagPartsSerializer(serializers.Serializer):
    time = VerdictSerializer()
    cost = VerdictSerializer(allow_null=True, help_text="null without a budget.")
    quality = VerdictSerializer(allow_null=True, help_text="null without targets.")


class RagSerializer(serializers.Serializer):
    colour = serializers.ChoiceField(choices=COLOURS, help_text="The worst of the parts.")
    reasons = serializers.ListField(child=serializers.CharField())
    parts = RagPartsSerializer()


class DeliverableReviewSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", read_only=True)

    class Meta:
        model = DeliverableReview
        fields = ["step", "by", "at", "comment"]


class CostEntrySerializer(KnownFields, StrictModelSerializer):
    added_by = serializers.CharField(
        source="added_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = CostEntry
        fields = ["amount", "incurred_on", "note", "added_by", "added_at"]
        read_only_fields = ["added_by", "added_at"]


def status_of(deliverable: Deliverable) -> DeliverableStatus:
    """rag_of, once per deliverable; each target gets its ``result``."""
    status = getattr(deliverable, "_roadmap_status", None)
    if status is None:
        status = rag_of(deliverable)
        for target, result in zip(deliverable.targets.all(), status.targets, strict=True):
            target.result = result
        deliverable._roadmap_status = status
    return status


def _verdict(verdict) -> dict | None:
    return None if verdict is None else {"colour": verdict.colour, "reason": verdict.reason}


class DeliverableSerializer(KnownFields, StrictModelSerializer):
    initiative = serializers.SlugRelatedField(slug_field="slug", queryset=Initiative.objects.all())
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    services = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="Services of the team, measured by the targets (none: the whole team).",
    )
    status = DeliverableStatusField(choices=Deliverable.Status.choices, read_only=True)
    targets = TargetSerializer(many=True, required=False)
    spent = serializers.SerializerMethodField(help_text="The sum of the cost entries.")
    rag = serializers.SerializerMethodField()
    reviews = DeliverableReviewSerializer(many=True, read_only=True)
    costs = CostEntrySerializer(many=True, read_only=True)

    class Meta:
        model = Deliverable
        fields = [
            "slug", "title", "description", "initiative", "team", "services", "starts_on",
            "due_on", "budget", "progress", "status", "spent", "targets", "rag", "reviews",
            "costs", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["slug", "progress", "status", "updated_at"]

    def to_representation(self, deliverable):
        status_of(deliverable)  # before the targets are written out
        return super().to_representation(deliverable)

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_spent(self, deliverable):
        return f"{status_of(deliverable).spent:.2f}"

    @extend_schema_field(RagSerializer)
    def get_rag(self, deliverable):
        rag = status_of(deliverable).rag
        return {
            "colour": rag.colour,
            "reasons": rag.reasons,
            "parts": {"time": _verdict(rag.time), "cost": _verdict(rag.cost),
                      "quality": _verdict(rag.quality)},
        }  # fmt: skip


class DeliverableUpdateSerializer(KnownFields, StrictModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    services = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), many=True
    )
    targets = TargetSerializer(
        many=True,
        help_text="Replaces all targets; a checked one kept under its name keeps its verdict.",
    )

    class Meta:
        model = Deliverable
        fields = [
            "title", "description", "team", "services", "starts_on", "due_on", "budget",
            "targets", "progress",
        ]  # fmt: skip
        extra_kwargs = {"progress": {"help_text": "% done: the owner team's members set it."}}


class ReviewCommentSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(required=False, allow_blank=True, max_length=5000, default="")


class ReturnSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(max_length=5000, help_text="What is missing.")


class CheckSerializer(KnownFields, serializers.Serializer):
    met = StrictBooleanField()
    note = StrictCharField(required=False, allow_blank=True, max_length=5000, default="")


PLAN_ONLY = "Members update progress; a deliverable's plan is for leads."


class DeliverableViewSet(WriteRoles, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Deliverables of the teams you see (another team's are 404). Leads plan them (create,
    PATCH of plan fields and targets; refused with 409 while their roadmap's version awaits
    approval), accept or return them and check reviewer-checked targets. The owner team's
    members PATCH ``progress``, add costs and submit them for review."""

    serializer_class = DeliverableSerializer
    filterset_class = DeliverableFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["due_on", "title"]
    ordering_fields = ["due_on", "starts_on", "title", "budget", "progress"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return deliverables_for_rag(visible_deliverables(self.request.user)).prefetch_related(
            Prefetch("reviews", DeliverableReview.objects.select_related("by")),
            Prefetch("costs", CostEntry.objects.select_related("added_by")),
        )

    def role_may_write(self, access) -> bool:
        if self.action in {"create", "accept", "return_", "check_target"}:
            return access.is_lead
        return access.is_lead or bool(access.team_ids)  # on the deliverable itself: below

    def _works_on(self) -> Deliverable:
        deliverable = self.get_object()
        self.require(deliverables.works_on(self.request.user, deliverable))
        return deliverable

    def _answer(self, deliverable, status: int = 200) -> Response:
        deliverable = self.get_queryset().get(pk=deliverable.pk)
        return Response(self.get_serializer(deliverable).data, status=status)

    def perform_create(self, serializer):
        deliverable = services.deliverable_create(
            actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = self.get_queryset().get(pk=deliverable.pk)

    @extend_schema(request=DeliverableUpdateSerializer, responses={200: DeliverableSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Leads change the plan fields and targets; the owner team's members only
        ``progress``."""
        deliverable = self._works_on()
        body = DeliverableUpdateSerializer(deliverable, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        plan = dict(body.validated_data)
        progress = plan.pop("progress", None)
        if plan:
            self.require(self.access.is_lead, PLAN_ONLY)
        with transaction.atomic():  # both or neither
            if plan:
                services.deliverable_update(actor=request.user, deliverable=deliverable, **plan)
            if progress is not None:
                deliverables.progress_update(
                    actor=request.user, deliverable=deliverable, progress=progress
                )
        return self._answer(deliverable)

    @extend_schema(request=CostEntrySerializer, responses={201: DeliverableSerializer})
    @action(detail=True, methods=["post"])
    def costs(self, request, slug=None):
        """An actual cost, on a day that has happened (the owner team or a lead)."""
        deliverable = self._works_on()
        body = CostEntrySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        deliverables.cost_add(actor=request.user, deliverable=deliverable, **body.validated_data)
        return self._answer(deliverable, status=201)

    def _review(self, request, step: str, body_class, deliverable=None) -> Response:
        deliverable = deliverable or self.get_object()
        body = body_class(data=request.data)
        body.is_valid(raise_exception=True)
        deliverables.deliverable_review(
            actor=request.user, deliverable=deliverable, step=step, **body.validated_data
        )
        return self._answer(deliverable)

    @extend_schema(request=ReviewCommentSerializer, responses={200: DeliverableSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, slug=None):
        """The owner team submits it for review (when open or returned)."""
        return self._review(request, "submit", ReviewCommentSerializer, self._works_on())

    @extend_schema(request=ReviewCommentSerializer, responses={200: DeliverableSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, slug=None):
        """A lead accepts a submitted deliverable (its progress becomes 100)."""
        return self._review(request, "accept", ReviewCommentSerializer)

    @extend_schema(request=ReturnSerializer, responses={200: DeliverableSerializer})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, slug=None):
        """A lead returns a submitted deliverable, saying what is missing."""
        return self._review(request, "return", ReturnSerializer)

    @extend_schema(request=CheckSerializer, responses={200: DeliverableSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"targets/(?P<target_id>[0-9]+)/check",
        url_name="target-check",
    )
    def check_target(self, request, slug=None, target_id=None):
        """A lead's verdict on a target checked by a reviewer (measured ones are 409)."""
        deliverable = self.get_object()
        target = get_object_or_404(deliverable.targets.all(), pk=target_id)
        body = CheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        deliverables.target_check(actor=request.user, target=target, **body.validated_data)
        return self._answer(deliverable)
