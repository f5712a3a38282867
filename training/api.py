"""REST API for training: skills, the skills matrix, plans with items, progress and needs.
Writes go through training.services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.access import visible_teams
from portal.api import SLUG_PATTERN
from portal.models import Membership, Role, Team
from portal.strict_fields import StrictModelSerializer
from training import services
from training.filtersets import SkillFilterSet, SkillRatingFilterSet, TrainingPlanFilterSet
from training.models import Skill, SkillRating, TrainingItem, TrainingPlan
from training.selectors import plan_progress, training_needs

User = get_user_model()


ROLE_TARGETS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 4, "nullable": True},
}


@extend_schema_field(ROLE_TARGETS_SCHEMA)
class RoleTargetsField(serializers.Field):
    """Role -> the proficiency (0-4) it should reach; null removes the target."""

    levels = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=4, allow_null=True)
    )

    def to_internal_value(self, data):
        levels = self.levels.run_validation(data)
        unknown = sorted(set(levels) - set(Role.values))
        if unknown:
            raise serializers.ValidationError([f"Not a role: {', '.join(unknown)}."])
        return levels

    def to_representation(self, targets):
        return {target.role: target.level for target in targets.all()}


class SkillSerializer(StrictModelSerializer):
    targets = RoleTargetsField(required=False, help_text="role -> target proficiency 0-4")

    class Meta:
        model = Skill
        fields = ["slug", "name", "description", "capability_key", "tool", "targets"]


class SkillViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The skills catalogue; leads add skills."""

    serializer_class = SkillSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["name"]
    ordering_fields = ["name", "slug"]
    filterset_class = SkillFilterSet

    def get_queryset(self):
        return Skill.objects.prefetch_related("targets")

    @transaction.atomic
    def perform_create(self, serializer):
        fields = dict(serializer.validated_data)
        targets = fields.pop("targets", None)
        skill = services.skill_create(actor=self.request.user, **fields)
        if targets:
            services.skill_targets_set(actor=self.request.user, skill=skill, levels=targets)
        serializer.instance = self.get_queryset().get(pk=skill.pk)

    @extend_schema(
        request={"application/json": ROLE_TARGETS_SCHEMA}, responses={200: SkillSerializer}
    )
    @action(detail=True, methods=["put"])
    def targets(self, request, slug=None):
        """Set target proficiency per role: ``{"member": 2, "lead": 3, "viewer": null}``."""
        skill = self.get_object()
        try:
            levels = RoleTargetsField().run_validation(request.data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"targets": error.detail}) from None
        services.skill_targets_set(actor=request.user, skill=skill, levels=levels)
        return Response(self.get_serializer(self.get_queryset().get(pk=skill.pk)).data)


class SkillRatingSerializer(StrictModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    skill = serializers.SlugRelatedField(slug_field="slug", queryset=Skill.objects.all())
    self_level = serializers.IntegerField(min_value=0, max_value=4)
    confirmed_by = serializers.CharField(
        source="confirmed_by.username", read_only=True, default=None, allow_null=True
    )
    level = serializers.IntegerField(read_only=True, help_text="confirmed, else self-rated")

    class Meta:
        model = SkillRating
        fields = ["id", "user", "skill", "self_level", "confirmed_level", "confirmed_by", "level"]
        read_only_fields = ["id", "confirmed_level"]
        validators = []  # one per person and skill: posting again updates it


class ConfirmSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=0, max_value=4)


class SkillRatingViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The skills matrix. ``POST`` rates yourself (again: updates); leads confirm."""

    serializer_class = SkillRatingSerializer
    ordering = ["user__username", "skill__name"]
    ordering_fields = ["user__username", "skill__name"]
    filterset_class = SkillRatingFilterSet

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # the schema generator asks too
            return SkillRating.objects.none()
        people = Membership.objects.filter(team__in=visible_teams(self.request.user))
        return (
            SkillRating.objects.filter(
                Q(user=self.request.user) | Q(user__in=people.values("user"))
            )
            .select_related("user", "skill", "confirmed_by")
            .distinct()
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.skill_rate_self(
            actor=self.request.user, skill=data["skill"], level=data["self_level"]
        )

    @extend_schema(request=ConfirmSerializer, responses={200: SkillRatingSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        rating = self.get_object()  # before the body: an unseen rating is a 404, never a 400
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rating = services.skill_confirm(
            actor=request.user, rating=rating, level=body.validated_data["level"]
        )
        return Response(SkillRatingSerializer(rating).data)


class TrainingItemSerializer(StrictModelSerializer):
    skill = serializers.SlugRelatedField(
        slug_field="slug", queryset=Skill.objects.all(), required=False, allow_null=True
    )
    attendees = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )

    class Meta:
        model = TrainingItem
        fields = [
            "id",
            "kind",
            "title",
            "skill",
            "starts_on",
            "ends_on",
            "cost",
            "status",
            "attendees",
            "evidence",
            "reason",
        ]
        read_only_fields = ["id", "status", "evidence"]


class ItemUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TrainingItem.Status.choices)
    evidence = serializers.URLField(required=False, allow_blank=True, max_length=500, default="")


class TrainingPlanSerializer(StrictModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    items = TrainingItemSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = TrainingPlan
        fields = ["slug", "team", "period", "budget", "items", "progress", "created_at"]
        read_only_fields = ["slug", "created_at"]
        validators = []  # one per team and period: the service answers 409

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["team"].queryset = visible_teams(request.user)
        return fields

    def get_progress(self, plan) -> dict:
        progress = plan_progress(plan)
        return {
            "items": progress.items,
            "done": progress.done,
            "spent": str(progress.spent),
            "budget": str(progress.budget),
            "over_budget": progress.over_budget,
        }


class TrainingPlanViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Training plans per team and quarter; leads plan, attendees report completion."""

    serializer_class = TrainingPlanSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["-period", "team__name"]
    ordering_fields = ["period"]
    filterset_class = TrainingPlanFilterSet

    def get_queryset(self):
        return (
            TrainingPlan.objects.filter(team__in=visible_teams(self.request.user))
            .select_related("team")
            .prefetch_related("items__attendees", "items__skill")
        )

    def perform_create(self, serializer):
        plan = services.plan_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=plan.pk)

    @extend_schema(request=TrainingItemSerializer, responses={201: TrainingItemSerializer})
    @action(detail=True, methods=["post"])
    def items(self, request, slug=None):
        plan = self.get_object()
        body = TrainingItemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.item_add(actor=request.user, plan=plan, **body.validated_data)
        return Response(TrainingItemSerializer(item).data, status=201)

    @extend_schema(request=ItemUpdateSerializer, responses={200: TrainingItemSerializer})
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item>[0-9]+)", url_name="item")
    def item(self, request, slug=None, item=None):
        found = get_object_or_404(TrainingItem, plan=self.get_object(), pk=item)
        body = ItemUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = services.item_update(actor=request.user, item=found, **body.validated_data)
        return Response(TrainingItemSerializer(updated).data)

    @extend_schema(responses={200: {"type": "array", "items": {"type": "object"}}})
    @action(detail=True, methods=["get"])
    def needs(self, request, slug=None):
        """Who in the plan's team should learn what, and why (leads accept them as items)."""
        plan = self.get_object()  # visible plan, visible team: its needs too
        return Response(
            [
                {
                    "skill": need.skill.slug,
                    "user": need.user.username if need.user else None,
                    "reasons": need.reasons,
                }
                for need in training_needs(plan.team)
            ]
        )
