"""REST API for POC reviews: POCs with their lifecycle actions, criteria, evaluations, evidence
and decision. Writes go through poc.services; the radar's API is in poc.radar_api."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from poc import decisions, services
from poc.filtersets import PocFilterSet
from poc.models import Evidence, FollowUp, Outcome, Poc, Quadrant
from poc.selectors import score_summary, visible_pocs
from portal.access import visible_teams
from portal.api import SLUG_PATTERN
from portal.models import Service, Team
from portal.strict_fields import StrictModelSerializer
from portal.uploads import read_upload

User = get_user_model()


class CriterionSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=60)
    name = serializers.CharField(max_length=200)
    weight = serializers.DecimalField(max_digits=6, decimal_places=2)

    def validate_weight(self, weight):
        if weight <= 0:
            raise serializers.ValidationError("Weights are positive.")
        return weight


class EvidenceSerializer(serializers.ModelSerializer):
    file = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "title", "url", "measurement", "file", "added_at"]

    def get_file(self, evidence) -> dict | None:
        if not evidence.file_name:
            return None
        request = self.context.get("request")
        path = f"/pocs/{evidence.poc.slug}/evidence/{evidence.pk}/"
        return {
            "name": evidence.file_name,
            "size": evidence.file_size,
            "sha256": evidence.file_sha256,
            "url": request.build_absolute_uri(path) if request else path,
        }


class PocSerializer(StrictModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    quadrant = serializers.SlugRelatedField(slug_field="slug", queryset=Quadrant.objects.all())
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), required=False
    )
    evaluators = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    scope_teams = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), many=True, required=False
    )
    scope_services = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), many=True, required=False
    )
    criteria = CriterionSerializer(many=True, required=False)
    score = serializers.SerializerMethodField()
    evidence = EvidenceSerializer(many=True, read_only=True)
    decision = serializers.SerializerMethodField()
    radar_entry = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Poc
        fields = [
            "slug", "title", "tool", "quadrant", "problem", "problem_key", "hypothesis",
            "success_criteria", "team", "scope_teams", "scope_services", "starts_on", "ends_on",
            "budget", "actual_cost", "owner", "evaluators", "status", "is_overdue", "criteria",
            "score", "evidence", "decision", "radar_entry", "created_at",
        ]  # fmt: skip
        read_only_fields = ["slug", "status", "created_at"]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            # A team the caller cannot see is an unknown slug: 400, with no hint that it exists.
            fields["team"].queryset = visible_teams(request.user)
        return fields

    def get_score(self, poc) -> dict:
        summary = score_summary(poc)
        return {
            "weighted": summary.weighted,
            "spread": summary.spread,
            "by_evaluator": summary.by_evaluator,
            "criteria": [
                {"key": c.key, "weight": c.weight, "mean": c.mean, "spread": c.spread}
                for c in summary.criteria
            ],
        }

    def get_decision(self, poc) -> dict | None:
        decision = getattr(poc, "decision", None)
        if decision is None:
            return None
        return {
            "outcome": decision.outcome,
            "rationale": decision.rationale,
            "conditions": decision.conditions,
            "review_by": decision.review_by,
            "decided_by": decision.decided_by.username,
            "decided_at": decision.decided_at,
            "follow_ups": [
                {"kind": f.kind, "title": f.title, "training_item": f.training_item_id}
                for f in poc.follow_ups.all()
            ],
        }


class PocUpdateSerializer(StrictModelSerializer):
    evaluators = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )

    class Meta:
        model = Poc
        fields = [
            "actual_cost",
            "budget",
            "ends_on",
            "hypothesis",
            "success_criteria",
            "evaluators",
        ]


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class FollowUpSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FollowUp.Kind.choices)
    title = serializers.CharField(max_length=300)


class DecideSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    rationale = serializers.CharField(max_length=10000)
    conditions = serializers.CharField(
        required=False, allow_blank=True, max_length=10000, default=""
    )
    review_by = serializers.DateField(required=False, allow_null=True, default=None)
    follow_ups = FollowUpSerializer(many=True, required=False, default=list)


class ScoreSerializer(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class EvaluationSerializer(serializers.Serializer):
    evaluator = serializers.CharField(read_only=True)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=10000, default="")
    scores = serializers.DictField(child=ScoreSerializer(), help_text="criterion key -> score")
    weighted = serializers.FloatField(read_only=True)


class EvidenceCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    measurement = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    file = serializers.FileField(required=False)


def _pocs(user):
    return visible_pocs(user).select_related(
        "team", "quadrant", "owner", "radar_entry", "decision__decided_by"
    ).prefetch_related(
        "evaluators", "scope_teams", "scope_services", "criteria", "follow_ups",
        Prefetch("evidence", Evidence.objects.defer("file_data").select_related("poc")),
    )  # fmt: skip


class PocViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """POCs of the teams you see. Members propose and run their team's POCs; leads approve and
    decide. Lifecycle: ``POST /<slug>/approve|start|review|withdraw/`` (``comment``) and
    ``POST /<slug>/decide/``."""

    serializer_class = PocSerializer
    filterset_class = PocFilterSet
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["-created_at"]
    ordering_fields = ["created_at", "ends_on", "title"]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def get_queryset(self):
        return _pocs(self.request.user)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        criteria = data.pop("criteria", None)
        poc = services.poc_propose(
            actor=self.request.user,
            criteria=[(c["key"], c["name"], c["weight"]) for c in criteria] if criteria else None,
            **data,
        )
        serializer.instance = self.get_queryset().get(pk=poc.pk)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return PocUpdateSerializer
        return super().get_serializer_class()

    @extend_schema(request=PocUpdateSerializer, responses={200: PocSerializer})
    def partial_update(self, request, *args, **kwargs):
        poc = self.get_object()
        body = PocUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.poc_update(actor=request.user, poc=poc, **body.validated_data)
        return self._answer(poc)

    def update(self, request, *args, **kwargs):
        return self.http_method_not_allowed(request)

    def _answer(self, poc, status: int = 200):
        poc = self.get_queryset().get(pk=poc.pk)
        return Response(
            PocSerializer(poc, context=self.get_serializer_context()).data, status=status
        )

    def _transition(self, request, name: str):
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        poc = services.poc_transition(
            actor=request.user, poc=self.get_object(), action=name, **body.validated_data
        )
        return self._answer(poc)

    @extend_schema(request=CommentSerializer, responses={200: PocSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, slug=None):
        return self._transition(request, "approve")

    @extend_schema(request=CommentSerializer, responses={200: PocSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request, slug=None):
        return self._transition(request, "start")

    @extend_schema(request=CommentSerializer, responses={200: PocSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, slug=None):
        return self._transition(request, "review")

    @extend_schema(request=CommentSerializer, responses={200: PocSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, slug=None):
        return self._transition(request, "withdraw")

    @extend_schema(request=DecideSerializer, responses={200: PocSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request, slug=None):
        poc = self.get_object()  # before the body: another team's POC is a 404, never a 400
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        decisions.poc_decide(
            actor=request.user,
            poc=poc,
            outcome=data["outcome"],
            rationale=data["rationale"],
            conditions=data["conditions"],
            review_by=data["review_by"],
            follow_ups=[(f["kind"], f["title"]) for f in data["follow_ups"]],
        )
        return self._answer(poc)

    @extend_schema(request=CriterionSerializer(many=True), responses={200: PocSerializer})
    @action(detail=True, methods=["put"])
    def criteria(self, request, slug=None):
        """Replace the criteria and their weights (until the first evaluation)."""
        poc = self.get_object()  # before the body: another team's POC is a 404, never a 400
        body = CriterionSerializer(data=request.data, many=True)
        body.is_valid(raise_exception=True)
        criteria = [(c["key"], c["name"], c["weight"]) for c in body.validated_data]
        services.criteria_set(actor=request.user, poc=poc, criteria=criteria)
        return self._answer(poc)

    @extend_schema(methods=["GET"], request=None, responses={200: EvaluationSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=EvaluationSerializer, responses={201: EvaluationSerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def evaluations(self, request, slug=None):
        """Each evaluator's scores (criterion key -> score 1-5 and note); POST yours, once."""
        poc = self.get_object()
        if request.method == "POST":
            body = EvaluationSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            scores = {
                key: (value["score"], value["note"])
                for key, value in body.validated_data["scores"].items()
            }
            evaluation = services.evaluation_submit(
                actor=request.user, poc=poc, scores=scores, summary=body.validated_data["summary"]
            )
            return Response(_evaluation(evaluation, score_summary(poc)), status=201)
        summary = score_summary(poc)
        return Response([_evaluation(e, summary) for e in _evaluations(poc)])

    @extend_schema(
        request={
            "application/json": EvidenceCreateSerializer,
            "multipart/form-data": EvidenceCreateSerializer,
        },
        responses={201: PocSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, MultiPartParser])
    def evidence(self, request, slug=None):
        """A link, a measured result, or a file (multipart field ``file``)."""
        poc = self.get_object()  # before the body: another team's POC is a 404, never a 400
        body = EvidenceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = read_upload(data["file"]) if data.get("file") else None
        services.evidence_add(
            actor=request.user,
            poc=poc,
            title=data["title"],
            url=data["url"],
            measurement=data["measurement"],
            upload=upload,
        )
        return self._answer(poc, status=201)


def _evaluations(poc):
    return poc.evaluations.select_related("evaluator").prefetch_related("scores__criterion")


def _evaluation(evaluation, summary) -> dict:
    return {
        "evaluator": evaluation.evaluator.username,
        "summary": evaluation.summary,
        "scores": {
            s.criterion.key: {"score": s.score, "note": s.note} for s in evaluation.scores.all()
        },
        "weighted": summary.by_evaluator.get(evaluation.evaluator.username),
    }
