"""``GET /api/v1/compliance/``: the compliance scorecard of lifecycle policies (docs/policies.md):
per service, each active rule's latest outcome with evidence and waiver; compliance of the scope,
its teams and the organisation; and the daily trend."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pipelines.models import RuleResult, Waiver
from pipelines.models.policies import RuleKind
from pipelines.policies import selectors
from pipelines.policies.api import OutcomeField, RuleKindField, WaiverStatusField
from portal.access import visible_services, visible_teams

MAX_TREND_DAYS = 365


class ComplianceQuerySerializer(serializers.Serializer):
    service = serializers.SlugField(required=False, help_text="A service slug.")
    team = serializers.SlugField(required=False, help_text="A team slug (all its services).")
    days = serializers.IntegerField(
        required=False,
        default=30,
        min_value=1,
        max_value=MAX_TREND_DAYS,
        help_text="Days of daily trend, ending today (30 by default; 90 for a quarter).",
    )

    def validate(self, attrs):
        user = self.context["request"].user
        if attrs.get("service") and attrs.get("team"):
            raise serializers.ValidationError({"team": ["Give a service or a team, not both."]})
        everything = visible_services(user)
        scope = {"kind": "organisation", "slug": None, "days": attrs["days"]}
        chosen = everything
        if attrs.get("service"):
            chosen = everything.filter(slug=attrs["service"])
            if not chosen.exists():
                raise serializers.ValidationError({"service": ["No such service."]})
            scope.update(kind="service", slug=attrs["service"])
        elif attrs.get("team"):
            team = visible_teams(user).filter(slug=attrs["team"]).first()
            if team is None:
                raise serializers.ValidationError({"team": ["No such team."]})
            chosen = everything.filter(team=team)
            scope.update(kind="team", slug=team.slug)
        return {"scope": scope, "services": chosen, "everything": everything}


class ComplianceTallySerializer(serializers.Serializer):
    compliant = serializers.IntegerField(help_text="Pairs that pass or are waived.")
    applicable = serializers.IntegerField(help_text="Pairs that pass, are waived or fail.")
    percent = serializers.FloatField(allow_null=True, help_text="compliant / applicable x 100.")
    passed = serializers.IntegerField()
    waived = serializers.IntegerField()
    failed = serializers.IntegerField()
    not_applicable = serializers.IntegerField()


class ComplianceTeamSerializer(ComplianceTallySerializer):
    team = serializers.CharField()
    name = serializers.CharField()


class ComplianceWaiverSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = WaiverStatusField(choices=Waiver.Status.choices)
    expires_on = serializers.DateField()
    expired = serializers.BooleanField()
    reason = serializers.CharField()


class ComplianceRuleSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The rule's key.")
    policy = serializers.CharField()
    kind = RuleKindField(choices=RuleKind.choices)
    outcome = OutcomeField(
        choices=RuleResult.Outcome.choices, allow_null=True, help_text="Null: not evaluated yet."
    )
    day = serializers.DateField(allow_null=True)
    checked = serializers.IntegerField()
    failing = serializers.IntegerField()
    evidence = serializers.ListField(
        child=serializers.DictField(), help_text="The failing items (at most 50)."
    )
    evaluated_at = serializers.DateTimeField(allow_null=True)
    waiver = ComplianceWaiverSerializer(allow_null=True, help_text="The waiver that waived it.")
    pending_waivers = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of requests awaiting a decision."
    )


class ComplianceServiceSerializer(serializers.Serializer):
    service = serializers.CharField()
    name = serializers.CharField()
    team = serializers.CharField()
    tier = serializers.IntegerField()
    compliance = ComplianceTallySerializer()
    rules = ComplianceRuleSerializer(many=True)


class ComplianceTrendPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    compliant = serializers.IntegerField()
    applicable = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)


class ComplianceScopeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["organisation", "team", "service"])
    slug = serializers.CharField(allow_null=True)
    days = serializers.IntegerField()


class ComplianceSerializer(serializers.Serializer):
    scope = ComplianceScopeSerializer()
    summary = ComplianceTallySerializer(help_text="Over the services in scope.")
    organisation = ComplianceTallySerializer(help_text="Over every service you may see.")
    teams = ComplianceTeamSerializer(many=True)
    services = ComplianceServiceSerializer(many=True)
    trend = ComplianceTrendPointSerializer(many=True, help_text="One point per day, oldest first.")


def _waiver_brief(waiver: Waiver | None) -> dict | None:
    if waiver is None:
        return None
    return {
        "id": waiver.pk,
        "status": waiver.status,
        "expires_on": waiver.expires_on,
        "expired": waiver.is_expired,
        "reason": waiver.reason,
    }


def _line(line: selectors.RuleLine) -> dict:
    result = line.result
    return {
        "rule": line.rule.key,
        "policy": line.rule.policy.slug,
        "kind": line.rule.kind,
        "outcome": result.outcome if result else None,
        "day": result.day if result else None,
        "checked": result.checked if result else 0,
        "failing": result.failing if result else 0,
        "evidence": result.evidence if result else [],
        "evaluated_at": result.evaluated_at if result else None,
        "waiver": _waiver_brief(result.waiver if result else None),
        "pending_waivers": [w.pk for w in line.pending],
    }


class ComplianceView(APIView):
    """The compliance scorecard: per service, each active rule's latest outcome with its
    evidence and waiver; compliance (pass + waived over applicable) of the scope, its teams
    and the organisation (every service you may see); and the daily trend. Definitions in
    docs/policies.md."""

    @extend_schema(
        parameters=[ComplianceQuerySerializer],
        responses={200: ComplianceSerializer},
        operation_id="compliance",
    )
    def get(self, request):
        query = ComplianceQuerySerializer(
            data=request.query_params.dict(), context={"request": request}
        )
        query.is_valid(raise_exception=True)
        data = query.validated_data
        card = selectors.scorecard(services=data["services"], with_evidence=True)
        organisation = (
            card.organisation
            if data["scope"]["kind"] == "organisation"
            else selectors.scorecard(services=data["everything"]).organisation
        )
        trend = selectors.compliance_trend(services=data["services"], days=data["scope"]["days"])
        body = {
            "scope": data["scope"],
            "summary": card.organisation.as_dict(),
            "organisation": organisation.as_dict(),
            "teams": [
                {"team": team.slug, "name": team.name, **tally.as_dict()}
                for team, tally in card.teams
            ],
            "services": [
                {
                    "service": c.service.slug,
                    "name": c.service.name,
                    "team": c.service.team.slug,
                    "tier": c.service.tier,
                    "compliance": c.tally.as_dict(),
                    "rules": [_line(line) for line in c.lines],
                }
                for c in card.services
            ],
            "trend": [
                {"day": p.day, **{k: p.tally.as_dict()[k] for k in ("compliant", "applicable")},
                 "percent": p.tally.percent}
                for p in trend
            ],
        }  # fmt: skip
        return Response(ComplianceSerializer(body).data)
