"""REST API of lifecycle policies (docs/policies.md):

- ``/api/v1/policies/``: policies by slug with their current text, versions and rules; leads
  create them (with rules, all or nothing) and PATCH ``name``/``text`` (new text, new version).
- ``/api/v1/policy-rules/``: rules by key (filters ``policy``, ``kind``, ``is_active``); leads
  create them and PATCH ``params``, ``window_days``, ``is_active``.
- ``/api/v1/compliance/``: the scorecard, in pipelines.policies.compliance_api.
- ``/api/v1/waivers/``: waivers of the services you may see (filters ``service``, ``team``,
  ``rule``, ``status``, ``expired``); team members and leads request them (POST); leads
  ``POST /waivers/<id>/grant/`` or ``/refuse/`` with a ``comment`` (needed to refuse).

Writes go through pipelines.policies.services.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from pipelines.models import Policy, PolicyRule, PolicyVersion, RuleResult, Waiver
from pipelines.models.policies import RuleKind
from pipelines.policies import selectors, services
from pipelines.policies.filtersets import PolicyRuleFilterSet, WaiverFilterSet
from portal.access import access_for, visible_services
from portal.api import SLUG_PATTERN, RoleWritePermission
from portal.models import Role
from portal.strict_fields import (
    KnownFields,
    StrictCharField,
    StrictIntegerField,
    StrictModelSerializer,
    StrictSlugField,
    named_choice_field,
)

RuleKindField = named_choice_field("PolicyRuleKindEnum", RuleKind)
OutcomeField = named_choice_field("RuleOutcomeEnum", RuleResult.Outcome)
WaiverStatusField = named_choice_field("WaiverStatusEnum", Waiver.Status)


class Writes:
    """Role checks before the body is read (a 403 rather than a 400 about its content)."""

    permission_classes = [*viewsets.GenericViewSet.permission_classes, RoleWritePermission]

    @property
    def access(self):
        return access_for(self.request.user)

    def role_may_write(self, access) -> bool:
        return access.is_lead


# --- policies and rules ----------------------------------------------------------------------


@extend_schema_field({"type": "object", "additionalProperties": {}})
class ParamsField(serializers.DictField):
    """The kind's params as a JSON object (docs/policies.md lists them)."""


class PolicyRuleSerializer(KnownFields, StrictModelSerializer):
    policy = serializers.SlugRelatedField(slug_field="slug", queryset=Policy.objects.all())
    key = StrictSlugField(
        max_length=100, required=False, help_text="Unique; default <policy>-<kind> (with hyphens)."
    )
    kind = RuleKindField(choices=RuleKind.choices)
    params = ParamsField(
        required=False, help_text="The kind's params; missing ones take their defaults."
    )
    window_days = StrictIntegerField(
        min_value=1, max_value=services.MAX_WINDOW_DAYS, required=False, default=30
    )

    class Meta:
        model = PolicyRule
        fields = ["key", "policy", "kind", "params", "window_days", "is_active"]


class PolicyRuleUpdateSerializer(PolicyRuleSerializer):
    def get_fields(self):
        fields = super().get_fields()
        for name in ("key", "policy", "kind"):  # what the rule's results and waivers are about
            fields[name].read_only = True
        return fields


class PolicyNestedRuleSerializer(PolicyRuleSerializer):
    policy = None

    class Meta(PolicyRuleSerializer.Meta):
        fields = ["key", "kind", "params", "window_days", "is_active"]


class PolicyVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = PolicyVersion
        fields = ["number", "text", "created_by", "created_at"]


class CurrentTextField(serializers.CharField):
    """The text of the latest version (the one in force); writing it makes a new version."""

    def get_attribute(self, policy):
        versions = list(policy.versions.all())  # prefetched, newest first
        return versions[0].text if versions else ""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PolicySerializer(KnownFields, StrictModelSerializer):
    text = CurrentTextField(help_text="The text in force; new text is a new version.")
    version = serializers.SerializerMethodField(help_text="The number of the version in force.")
    versions = PolicyVersionSerializer(many=True, read_only=True, help_text="Newest first.")
    rules = PolicyNestedRuleSerializer(many=True, required=False)

    class Meta:
        model = Policy
        fields = ["slug", "name", "text", "version", "versions", "rules", "created_at"]
        read_only_fields = ["slug", "created_at"]

    def get_version(self, policy) -> int | None:
        versions = list(policy.versions.all())
        return versions[0].number if versions else None


class PolicyUpdateSerializer(PolicySerializer):
    def get_fields(self):
        fields = super().get_fields()
        fields["rules"].read_only = True  # rules change through /policy-rules/
        return fields


def _policies():
    return Policy.objects.prefetch_related(
        Prefetch(
            "versions", PolicyVersion.objects.select_related("created_by").order_by("-number")
        ),
        Prefetch("rules", PolicyRule.objects.order_by("key")),
    )


class PolicyViewSet(Writes, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Lifecycle policies: versioned text and their rules. Readable by everyone signed in;
    leads create them (rules included, all or nothing) and PATCH ``name`` and ``text``."""

    serializer_class = PolicySerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["name"]
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return _policies()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        rules = [dict(rule) for rule in data.pop("rules", [])]
        policy = services.policy_create(actor=self.request.user, rules=rules, **data)
        serializer.instance = self.get_queryset().get(pk=policy.pk)

    @extend_schema(request=PolicyUpdateSerializer, responses={200: PolicySerializer})
    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        body = PolicyUpdateSerializer(policy, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.policy_update(actor=request.user, policy=policy, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=policy.pk)).data)


class RuleViewSet(Writes, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Machine-checked rules of the policies, by key. Leads create them and PATCH ``params``,
    ``window_days`` and ``is_active`` (the kind and the policy stay)."""

    serializer_class = PolicyRuleSerializer
    filterset_class = PolicyRuleFilterSet
    lookup_field = "key"
    lookup_value_regex = SLUG_PATTERN
    ordering = ["key"]
    ordering_fields = ["key", "kind"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return PolicyRule.objects.select_related("policy")

    def perform_create(self, serializer):
        rule = services.rule_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=rule.pk)

    @extend_schema(request=PolicyRuleUpdateSerializer, responses={200: PolicyRuleSerializer})
    def partial_update(self, request, *args, **kwargs):
        rule = self.get_object()
        body = PolicyRuleUpdateSerializer(rule, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.rule_update(actor=request.user, rule=rule, **body.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=rule.pk)).data)


# --- waivers -----------------------------------------------------------------------------------


class WaiverSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.key", read_only=True)
    policy = serializers.CharField(source="rule.policy.slug", read_only=True)
    service = serializers.CharField(source="service.slug", read_only=True)
    team = serializers.CharField(source="service.team.slug", read_only=True)
    status = WaiverStatusField(choices=Waiver.Status.choices, read_only=True)
    expired = serializers.BooleanField(
        source="is_expired", read_only=True, help_text="Past its expiry day: no longer applies."
    )
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text="Granted and not expired: it applies."
    )
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Waiver
        fields = [
            "id", "rule", "policy", "service", "team", "reason", "expires_on", "status",
            "expired", "active", "requested_by", "requested_at", "decided_by", "decided_at",
            "decision_comment",
        ]  # fmt: skip
        read_only_fields = fields


class WaiverRequestSerializer(KnownFields, serializers.Serializer):
    rule = serializers.SlugRelatedField(
        slug_field="key", queryset=PolicyRule.objects.all(), help_text="The rule's key."
    )
    service = StrictSlugField(max_length=100, help_text="A service slug of your teams.")
    reason = StrictCharField(help_text="Why the rule cannot be met for now.")
    expires_on = serializers.DateField(
        help_text="The last day it applies: after today, at most 365 days ahead."
    )


class WaiverDecisionSerializer(KnownFields, serializers.Serializer):
    comment = StrictCharField(
        required=False, allow_blank=True, default="", help_text="Needed to refuse."
    )


class WaiverViewSet(Writes, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Waivers of the services you may see. A member of the service's team (or a lead)
    requests one; leads grant or refuse it once (a second decision is a 409). ``expired``
    waivers no longer apply, whatever their status."""

    serializer_class = WaiverSerializer
    filterset_class = WaiverFilterSet
    ordering = ["-requested_at", "-id"]
    ordering_fields = ["requested_at", "expires_on"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return selectors.visible_waivers(self.request.user)

    def role_may_write(self, access) -> bool:
        if self.action == "create":
            return access.is_lead or any(
                access.has_team_role(team, Role.ADMIN, Role.LEAD, Role.MEMBER)
                for team in access.team_ids
            )
        return access.is_lead

    @extend_schema(request=WaiverRequestSerializer, responses={201: WaiverSerializer})
    def create(self, request, *args, **kwargs):
        body = WaiverRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        service = visible_services(request.user).filter(slug=data.pop("service")).first()
        if service is None:
            raise NotFound("No such service among those you may see.")
        if not self.access.works_in(service.team_id):
            raise PermissionDenied("Only the service's team and leads request its waivers.")
        waiver = services.waiver_request(actor=request.user, service=service, **data)
        return Response(self.get_serializer(self.get_queryset().get(pk=waiver.pk)).data, 201)

    def _decide(self, request, grant: bool):
        waiver = self.get_object()
        body = WaiverDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.waiver_decide(
            actor=request.user, waiver=waiver, grant=grant, comment=body.validated_data["comment"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=waiver.pk)).data)

    @extend_schema(
        request=WaiverDecisionSerializer,
        responses={200: WaiverSerializer, 409: OpenApiResponse(description="Already decided.")},
    )
    @action(detail=True, methods=["post"])
    def grant(self, request, pk=None):
        """Grant a requested waiver: it applies until its expiry day (inclusive)."""
        return self._decide(request, grant=True)

    @extend_schema(
        request=WaiverDecisionSerializer,
        responses={200: WaiverSerializer, 409: OpenApiResponse(description="Already decided.")},
    )
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        """Refuse a requested waiver; the comment says why (required)."""
        return self._decide(request, grant=False)
