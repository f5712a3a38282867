"""Reads of lifecycle policies: the compliance scorecard (service, team, organisation), its
daily trend, policies with their rules' pass rates, and waivers as a user may see them.

Definitions (docs/policies.md):

- A (service, rule) pair's state is the rule's latest RuleResult for the service (active
  rules only). It is *applicable* unless ``not_applicable``; *compliant* if ``pass`` or
  ``waived``.
- Compliance (a service, a team, the organisation, a rule across services) = compliant pairs /
  applicable pairs, in percent; none (shown "—") without an applicable pair.
- Trend: the same share per day, over the RuleResult rows of that day (today's rules, the
  scope's services); a day without rows is a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from pipelines.models import Policy, PolicyRule, PolicyVersion, RuleResult, Waiver
from portal.access import visible_services
from portal.models import Service, Team

Outcome = RuleResult.Outcome
COMPLIANT = (Outcome.PASS, Outcome.WAIVED)
APPLICABLE = (Outcome.PASS, Outcome.WAIVED, Outcome.FAIL)
TREND_DAYS = (30, 90)


@dataclass
class Tally:
    """Outcomes counted over (service, rule) pairs."""

    passed: int = 0
    waived: int = 0
    failed: int = 0
    not_applicable: int = 0

    def add(self, outcome: str) -> None:
        name = {Outcome.PASS: "passed", Outcome.WAIVED: "waived", Outcome.FAIL: "failed"}.get(
            outcome, "not_applicable"
        )
        setattr(self, name, getattr(self, name) + 1)

    def merge(self, other: Tally) -> None:
        for name in ("passed", "waived", "failed", "not_applicable"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def compliant(self) -> int:
        return self.passed + self.waived

    @property
    def applicable(self) -> int:
        return self.compliant + self.failed

    @property
    def percent(self) -> float | None:
        return None if not self.applicable else round(100 * self.compliant / self.applicable, 1)

    def as_dict(self) -> dict:
        return {
            "compliant": self.compliant,
            "applicable": self.applicable,
            "percent": self.percent,
            "passed": self.passed,
            "waived": self.waived,
            "failed": self.failed,
            "not_applicable": self.not_applicable,
        }


@dataclass
class RuleLine:
    """One rule on a service's scorecard: its latest result (None: not evaluated yet)."""

    rule: PolicyRule
    result: RuleResult | None
    pending: list[Waiver] = field(default_factory=list)  # requests awaiting a decision

    @property
    def outcome(self) -> str | None:
        return self.result.outcome if self.result else None


@dataclass
class ServiceCard:
    service: Service
    lines: list[RuleLine]
    tally: Tally


@dataclass
class Scorecard:
    organisation: Tally  # over every service given (for a member: those they may see)
    teams: list[tuple[Team, Tally]]
    services: list[ServiceCard]
    rules: dict[int, Tally]  # rule id -> its pass rate across the services


def active_rules() -> list[PolicyRule]:
    return list(
        PolicyRule.objects.filter(is_active=True)
        .select_related("policy")
        .order_by("policy__name", "key")
    )


def latest_results(
    *, services: QuerySet[Service], today: date | None = None, with_evidence: bool = True
) -> dict[tuple[int, int], RuleResult]:
    """(rule id, service id) -> the latest result on or before ``today``, active rules only:
    one DISTINCT ON query."""
    today = today or timezone.localdate()
    results = (
        RuleResult.objects.filter(service__in=services, rule__is_active=True, day__lte=today)
        .select_related("waiver")
        .order_by("rule_id", "service_id", "-day")
        .distinct("rule_id", "service_id")
    )
    if not with_evidence:
        results = results.defer("evidence")
    return {(r.rule_id, r.service_id): r for r in results}


def _pending(services: QuerySet[Service]) -> dict[tuple[int, int], list[Waiver]]:
    found: dict[tuple[int, int], list[Waiver]] = {}
    for waiver in Waiver.objects.filter(
        service__in=services, status=Waiver.Status.REQUESTED
    ).select_related("requested_by"):
        found.setdefault((waiver.rule_id, waiver.service_id), []).append(waiver)
    return found


def scorecard(
    *, services: QuerySet[Service], today: date | None = None, with_evidence: bool = False
) -> Scorecard:
    """Each service's rules with their latest outcome, and the compliance of the services,
    their teams, the whole set and each rule. A fixed number of queries."""
    rules = active_rules()
    services = services.select_related("team").order_by("team__name", "name")
    results = latest_results(services=services, today=today, with_evidence=with_evidence)
    pending = _pending(services)
    organisation, per_rule = Tally(), {rule.pk: Tally() for rule in rules}
    teams: dict[int, tuple[Team, Tally]] = {}
    cards = []
    for service in services:
        tally, lines = Tally(), []
        for rule in rules:
            result = results.get((rule.pk, service.pk))
            lines.append(RuleLine(rule, result, pending.get((rule.pk, service.pk), [])))
            if result is not None:
                tally.add(result.outcome)
                per_rule[rule.pk].add(result.outcome)
        cards.append(ServiceCard(service, lines, tally))
        organisation.merge(tally)
        teams.setdefault(service.team_id, (service.team, Tally()))[1].merge(tally)
    return Scorecard(organisation, list(teams.values()), cards, per_rule)


def service_scorecard(*, service: Service, today: date | None = None) -> ServiceCard:
    """One service's rules, with evidence and pending waiver requests."""
    card = scorecard(
        services=Service.objects.filter(pk=service.pk), today=today, with_evidence=True
    )
    return card.services[0]


@dataclass(frozen=True)
class TrendPoint:
    day: date
    tally: Tally


def compliance_trend(
    *, services: QuerySet[Service], days: int = 30, today: date | None = None
) -> list[TrendPoint]:
    """Compliance per day for the ``days`` days ending ``today`` (one grouped query)."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        RuleResult.objects.filter(
            service__in=services, rule__is_active=True, day__gte=start, day__lte=today
        )
        .values("day")
        .annotate(
            passed=Count("id", filter=Q(outcome=Outcome.PASS)),
            waived=Count("id", filter=Q(outcome=Outcome.WAIVED)),
            failed=Count("id", filter=Q(outcome=Outcome.FAIL)),
            not_applicable=Count("id", filter=Q(outcome=Outcome.NOT_APPLICABLE)),
        )
        .order_by("day")
    )
    by_day = {row.pop("day"): Tally(**row) for row in rows}
    return [
        TrendPoint(start + timedelta(days=n), by_day.get(start + timedelta(days=n), Tally()))
        for n in range(days)
    ]


def policies_overview_queryset() -> QuerySet[Policy]:
    """Policies with their rules and text versions (newest first): three queries."""
    return Policy.objects.prefetch_related(
        Prefetch("rules", PolicyRule.objects.order_by("key")),
        Prefetch(
            "versions", PolicyVersion.objects.select_related("created_by").order_by("-number")
        ),
    )


def policies_overview() -> list[Policy]:
    return list(policies_overview_queryset())


def visible_waivers(user) -> QuerySet[Waiver]:
    """Waivers of the services the user may see, with what their lists show."""
    return Waiver.objects.filter(service__in=visible_services(user)).select_related(
        "rule__policy", "service__team", "requested_by", "decided_by"
    )
