"""REST API of post-incident reviews (``/api/v1/post-incident-reviews/``), their actions
(``/api/v1/review-actions/``) and the review policy (``/api/v1/review-policy/``).

Reviews: read, start one for an incident (``POST`` with ``incident``), write its sections
(``PATCH``, drafts only), ``<id>/publish/`` (needs impact and causes, the incident resolved),
``<id>/actions/`` to add an action. Actions: ``done/``, ``reopen/``, and ``to-initiative/``,
``to-improvement-action/``, ``to-training-item/``, which create the object through its app's
service and link it. Writes go through pipelines.incidents.services; 409 for steps out of
order, 400 with field errors for bad input, 403 for roles that never write here.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.incidents import selectors, services
from pipelines.incidents.api import (
    ReviewStatusField,
    SeverityField,
    SeverityOrBlankField,
    WritePermission,
)
from pipelines.incidents.filtersets import PostIncidentReviewFilterSet, ReviewActionFilterSet
from pipelines.models import Incident, PostIncidentReview, ReviewAction, ReviewPolicy, Severity
from portal.access import require_lead, visible_teams
from portal.models import Team
from portal.strict_fields import (
    KnownFields,
    StrictCharField,
    StrictIntegerField,
    StrictSlugField,
    named_choice_field,
)
from roadmap.models import Roadmap, Theme
from training.models import Skill, TrainingItem

User = get_user_model()
ActionStatusField = named_choice_field("ReviewActionStatusEnum", ReviewAction.Status)
TrainingKindField = named_choice_field("ReviewActionTrainingKindEnum", TrainingItem.Kind)


# --- output -------------------------------------------------------------------------------------


class ReviewActionSerializer(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id", read_only=True)
    incident = serializers.IntegerField(source="review.incident_id", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = ActionStatusField(choices=ReviewAction.Status.choices, read_only=True)
    is_overdue = serializers.BooleanField(read_only=True, help_text="Open past its due date.")
    initiative = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="The roadmap initiative it became."
    )

    class Meta:
        model = ReviewAction
        fields = [
            "id", "review", "incident", "title", "owner", "team", "due_on", "status", "done_at",
            "is_overdue", "initiative", "improvement_action", "training_item", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class PostIncidentReviewSerializer(serializers.ModelSerializer):
    incident = serializers.IntegerField(source="incident_id", read_only=True)
    incident_title = serializers.CharField(source="incident.title", read_only=True)
    service = serializers.CharField(source="incident.service.slug", read_only=True)
    severity = SeverityOrBlankField(
        source="incident.severity", choices=Severity.choices, read_only=True
    )
    status = ReviewStatusField(choices=PostIncidentReview.Status.choices, read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    actions = ReviewActionSerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = [
            "id", "incident", "incident_title", "service", "severity", "status", "impact",
            "timeline_summary", "causes", "went_well", "went_badly", "due_on", "author",
            "created_at", "updated_at", "published_at", "actions",
        ]  # fmt: skip
        read_only_fields = fields


# --- input --------------------------------------------------------------------------------------


class ReviewStartSerializer(KnownFields, serializers.Serializer):
    incident = serializers.PrimaryKeyRelatedField(queryset=Incident.objects.none())

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["incident"].queryset = selectors.visible_incidents(request.user)
        return fields


class ReviewUpdateSerializer(KnownFields, serializers.Serializer):
    impact = StrictCharField(required=False, allow_blank=True, max_length=20000)
    timeline_summary = StrictCharField(required=False, allow_blank=True, max_length=20000)
    causes = StrictCharField(required=False, allow_blank=True, max_length=20000)
    went_well = StrictCharField(required=False, allow_blank=True, max_length=20000)
    went_badly = StrictCharField(required=False, allow_blank=True, max_length=20000)
    due_on = serializers.DateField(required=False)


class ActionInputSerializer(KnownFields, serializers.Serializer):
    title = StrictCharField(max_length=300)
    due_on = serializers.DateField()
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.none(), required=False,
        help_text="Team slug (default: the incident's owner team, else its service's team).",
    )  # fmt: skip
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True), required=False,
        allow_null=True, help_text="Username.",
    )  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["team"].queryset = visible_teams(request.user)
        return fields


class ToInitiativeSerializer(KnownFields, serializers.Serializer):
    roadmap = serializers.SlugRelatedField(slug_field="slug", queryset=Roadmap.objects.all())
    theme = StrictSlugField(max_length=100, help_text="A theme slug of the roadmap.")
    starts_on = serializers.DateField(required=False, help_text="Default: today.")
    ends_on = serializers.DateField(required=False, help_text="Default: the action's due date.")

    def validate(self, attrs):
        roadmap = attrs.pop("roadmap")
        theme = Theme.objects.filter(roadmap=roadmap, slug=attrs["theme"]).first()
        if theme is None:
            raise serializers.ValidationError({"theme": [f"No such theme on {roadmap.name}."]})
        return {**attrs, "theme": theme}


class ToImprovementSerializer(KnownFields, serializers.Serializer):
    capability_key = StrictSlugField(max_length=100, help_text="A maturity capability's key.")


class ToTrainingSerializer(KnownFields, serializers.Serializer):
    kind = TrainingKindField(choices=TrainingItem.Kind.choices, required=False)
    skill = serializers.SlugRelatedField(
        slug_field="slug", queryset=Skill.objects.all(), required=False, allow_null=True
    )


class ReviewPolicySerializer(KnownFields, serializers.Serializer):
    required_severities = serializers.ListField(
        child=SeverityField(choices=Severity.choices), max_length=len(Severity.values)
    )
    due_days = StrictIntegerField(min_value=1, max_value=90, help_text="Days after resolution.")
    updated_at = serializers.DateTimeField(read_only=True)


# --- resources ----------------------------------------------------------------------------------


class PostIncidentReviewViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Post-incident reviews of the incidents the caller sees, the earliest due first."""

    serializer_class = PostIncidentReviewSerializer
    filterset_class = PostIncidentReviewFilterSet
    permission_classes = [*viewsets.GenericViewSet.permission_classes, WritePermission]
    ordering = ["status", "due_on", "-id"]
    ordering_fields = ["due_on", "created_at", "published_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return (
            selectors.visible_reviews(self.request.user)
            .select_related("incident__service", "author")
            .prefetch_related("actions__owner", "actions__team", "actions__initiative")
        )

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _answer(self, review, status: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=review.pk)
        return Response(PostIncidentReviewSerializer(fresh).data, status=status)

    @extend_schema(request=ReviewStartSerializer, responses={201: PostIncidentReviewSerializer})
    def create(self, request, *args, **kwargs):
        """Start a review the policy did not ask for (409 if the incident has one)."""
        review = services.review_start(actor=request.user, **self._body(ReviewStartSerializer))
        return self._answer(review, 201)

    @extend_schema(request=ReviewUpdateSerializer, responses={200: PostIncidentReviewSerializer})
    def partial_update(self, request, *args, **kwargs):
        review = self.get_object()
        services.review_update(
            actor=request.user, review=review, **self._body(ReviewUpdateSerializer)
        )
        return self._answer(review)

    @extend_schema(request=None, responses={200: PostIncidentReviewSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the draft: impact and causes written, the incident resolved."""
        review = self.get_object()
        services.review_publish(actor=request.user, review=review)
        return self._answer(review)

    @extend_schema(request=ActionInputSerializer, responses={201: PostIncidentReviewSerializer})
    @action(detail=True, methods=["post"], url_path="actions")
    def add_action(self, request, pk=None):
        """Add an action with its due date (and team, owner)."""
        review = self.get_object()
        services.action_add(actor=request.user, review=review, **self._body(ActionInputSerializer))
        return self._answer(review, 201)


class ReviewActionViewSet(viewsets.ReadOnlyModelViewSet):
    """Actions of the reviews the caller sees, the earliest due first (``overdue=true``: the
    open ones past their due date)."""

    serializer_class = ReviewActionSerializer
    filterset_class = ReviewActionFilterSet
    permission_classes = [*viewsets.GenericViewSet.permission_classes, WritePermission]
    ordering = ["due_on", "id"]
    ordering_fields = ["due_on", "created_at"]

    def get_queryset(self):
        return selectors.visible_actions(self.request.user).select_related(
            "review", "owner", "team", "initiative"
        )

    def _answer(self, action_, status: int = 200) -> Response:
        return Response(ReviewActionSerializer(self.get_queryset().get(pk=action_.pk)).data, status)

    def _convert(self, service, serializer_class):
        action_ = self.get_object()
        body = serializer_class(data=self.request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        service(actor=self.request.user, action=action_, **body.validated_data)
        return self._answer(action_, 201)

    @extend_schema(request=None, responses={200: ReviewActionSerializer})
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        action_ = self.get_object()
        services.action_done(actor=request.user, action=action_)
        return self._answer(action_)

    @extend_schema(request=None, responses={200: ReviewActionSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        action_ = self.get_object()
        services.action_reopen(actor=request.user, action=action_)
        return self._answer(action_)

    @extend_schema(request=ToInitiativeSerializer, responses={201: ReviewActionSerializer})
    @action(detail=True, methods=["post"], url_path="to-initiative")
    def to_initiative(self, request, pk=None):
        """A roadmap initiative for the action's team (leads; the plan must not be frozen)."""
        return self._convert(services.action_to_initiative, ToInitiativeSerializer)

    @extend_schema(request=ToImprovementSerializer, responses={201: ReviewActionSerializer})
    @action(detail=True, methods=["post"], url_path="to-improvement-action")
    def to_improvement_action(self, request, pk=None):
        """A maturity improvement action of the action's team, against a capability."""
        return self._convert(services.action_to_improvement_action, ToImprovementSerializer)

    @extend_schema(request=ToTrainingSerializer, responses={201: ReviewActionSerializer})
    @action(detail=True, methods=["post"], url_path="to-training-item")
    def to_training_item(self, request, pk=None):
        """A training item in the team's plan for the quarter of the due date (leads)."""
        return self._convert(services.action_to_training_item, ToTrainingSerializer)


class ReviewPolicyView(APIView):
    """Which severities need a post-incident review, due how many days after resolution.
    Everyone reads it; leads change it."""

    @extend_schema(responses=ReviewPolicySerializer, operation_id="review_policy_retrieve")
    def get(self, request):
        return Response(ReviewPolicySerializer(ReviewPolicy.current()).data)

    @extend_schema(
        request=ReviewPolicySerializer,
        responses=ReviewPolicySerializer,
        operation_id="review_policy_update",
    )
    def put(self, request):
        require_lead(request.user)
        body = ReviewPolicySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy = services.review_policy_update(actor=request.user, **body.validated_data)
        return Response(ReviewPolicySerializer(policy).data)
