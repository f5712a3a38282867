"""Demo part of the designed delivery process (shared/DEMO.md): Platform's three pipeline
templates, five lifecycle policies evaluated for each of the last thirty days, waivers in every
state, and customer change requests in every state, among them Payments' request followed from
intake to production.

It reads the year of history pipelines/demo.py drew, so it tells the same story:

- Payments and Platform run the standard pipeline; Checkout was assigned it about six months
  ago (its runs have carried the security scan since). Catalog is assigned it too, by the
  "Standard pipeline for every team" initiative, but its runs have no scan yet: the stage is
  flagged missing and the security-scan rule fails. Mobile's release-train template asks for a
  manual approval its Jenkins runs do not have.
- No demo run has an approval job, so the tier-1 approval rule fails except where Payments holds
  a granted waiver (canary analysis instead); Checkout's request awaits lee; Catalog's waiver on
  the red-main rule expired and is flagged.
- Delivered change requests are keyed in the titles of real changes of the history, so their
  customer lead time is measured from the same deployments as the DORA numbers: Checkout's
  requests before its adoption of the standard pipeline waited weeks, after it days.

Built through the services, as people would, then dated back where the story needs the past.
"""

# ruff: noqa: E501 (the story's tables read best one record per line)
from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from pipelines.change_requests import services as requests
from pipelines.models import (
    Change,
    ChangeRequest,
    Deployment,
    PipelineTemplate,
    Policy,
    ServiceTemplate,
    Waiver,
)
from pipelines.policies import services as policies
from pipelines.policies.evaluation import policies_evaluate
from pipelines.templates import services as templates
from portal.models import Service, Team

DAY = timedelta(days=1)
Link = Deployment.changes.through
HISTORY_DAYS = 30  # the compliance trend the pages show by default: a verdict a day

BUILD = {"name": "Build", "kind": "build"}
UNIT = {"name": "Unit tests", "kind": "unit_test", "gate": "coverage >= 80%", "match": "*unit*"}
INTEGRATION = {"name": "Integration tests", "kind": "integration_test", "match": "*integration*"}
SCAN = {
    "name": "Security scan",
    "kind": "static_analysis",
    "gate": "critical_vulnerabilities == 0",
    "match": "*security*|*sast*",
}
STAGING = {"name": "Deploy to staging", "kind": "deploy", "environment": "staging"}
PRODUCTION = {"name": "Deploy to production", "kind": "deploy", "environment": "production"}
APPROVAL = {"name": "Release sign-off", "kind": "manual_approval", "match": "*approv*|*sign-off*"}

# slug: (name, description, versions [(stages, note, days ago saved)], {service: days since assigned})
TEMPLATES = {
    "standard-pipeline": (
        "Standard pipeline",
        "Platform's pipeline for services deployed on every merge: tests, a security scan, staging, production.",
        [([BUILD, UNIT, INTEGRATION, STAGING, PRODUCTION], "First version.", 340),
         ([BUILD, UNIT, INTEGRATION, SCAN, STAGING, PRODUCTION], "Security scan before any deploy (policy: Secure delivery).", 200)],
        {"payments-api": 300, "ledger": 300, "fraud-scoring": 300, "ci-runners": 320, "observability": 320,
         "identity": 320, "api-gateway": 320, "checkout-web": 182, "cart-api": 182, "pricing": 182,
         "promotions": 182, "catalog-api": 30, "search-indexer": 30},
    ),
    "mobile-release-train": (
        "Mobile release train",
        "The apps' fortnightly train: beta builds to staging, a release sign-off, then the stores.",
        [([BUILD, UNIT, STAGING, APPROVAL, PRODUCTION], "First version.", 75)],
        {"ios-app": 60, "android-app": 60, "mobile-bff": 60},
    ),
    "data-pipeline": (
        "Data pipeline",
        "Batch jobs and warehouse models: tested against a sample of yesterday's events, then deployed.",
        [([BUILD, UNIT, INTEGRATION, PRODUCTION], "First version.", 160)],
        {"events-pipeline": 150, "reporting-warehouse": 150},
    ),
}  # fmt: skip

# name, text, rules
POLICIES = [
    ("Deploy from main", "Production runs what the default branch holds: no deployment to production from a feature or release branch.",
     [{"key": "prod-from-main", "kind": "prod_from_default_branch"}]),
    ("Secure delivery", "Every commit deployed to production was scanned for vulnerabilities by the pipeline that built it.",
     [{"key": "scanned", "kind": "security_scan_on_deployed_commit"}]),
    ("Approval for tier-1 services", "Tier-1 services (customer-facing, revenue-critical) deploy to production only after a person approved the release.",
     [{"key": "approved", "kind": "approval_for_tier", "params": {"max_tier": 1}}]),
    ("Keep main green", "The default branch is not red for more than a day: fix or revert first.",
     [{"key": "green-main", "kind": "default_branch_red_hours", "params": {"hours": 24}}]),
    ("Traceable deployments", "Each production deployment says which changes it brings.",
     [{"key": "carries-changes", "kind": "deployment_carries_changes"}]),
]  # fmt: skip
KEEP_MAIN_GREEN_V1 = "The default branch is not red for more than two days."

# rule key, service, who asks, reason, (days ago asked, days ago decided or None), expires in days, granted, comment
WAIVERS = [
    ("approved", "payments-api", "lee", "Canary analysis with automatic rollback replaces a person's approval; reviewed with Risk.", (62, 60), 120, True, "Agreed while the canary's rollback stays under five minutes."),
    ("approved", "ledger", "lee", "Same canary analysis as payments-api.", (62, 60), 120, True, "Agreed, as for payments-api."),
    ("green-main", "catalog-api", "lee", "The flaky suite is being fixed (roadmap: Flaky test clean-up in Catalog).", (45, 44), -5, True, "Until the clean-up lands."),
    ("scanned", "reporting-warehouse", "lee", "Deploys SQL models only; the dependency scan arrives with the new orchestrator.", (20, 19), 70, True, "Agreed until the Dagster decision."),
    ("approved", "checkout-web", "mo", "Checkout deploys several times a day through the standard pipeline; we ask for the canary set-up Payments has.", (3, None), 90, None, ""),
    ("scanned", "ios-app", "kim", "The App Store review scans the binary; a MobSF stage comes with the release train.", (1, None), 60, None, ""),
    ("approved", "identity", "lee", "Identity wants to skip approvals for config-only deploys.", (30, 29), 60, False, "Config changes log people out when wrong: keep the approval."),
]  # fmt: skip

# team, requester, title, value, urgency, description
# team, requester, title, value, urgency, days ago it was delivered, days it waited after acceptance
DELIVERED = [
    ("Payments", "Nordic Outfitters", "Apple Pay for EU cards", "high", "high", 3, 9),
    ("Payments", "Finance", "Refunds show in the ledger the same day", "medium", "normal", 40, 6),
    ("Payments", "Marketplace sellers", "Split payments for marketplace orders", "high", "normal", 100, 8),
    ("Payments", "Risk", "3-D Secure 2 for UK cards", "high", "critical", 160, 7),
    ("Payments", "Marketplace sellers", "Payouts report for sellers", "medium", "normal", 220, 10),
    # Checkout: weeks before the standard pipeline (182 days ago), days after it.
    ("Checkout", "Marketing", "Free shipping threshold per country", "high", "normal", 300, 38),
    ("Checkout", "Customer care", "Keep the basket after signing in", "medium", "normal", 240, 30),
    ("Checkout", "Customer care", "Guest checkout without an account", "high", "high", 200, 26),
    ("Checkout", "Customer care", "Address autocomplete", "medium", "normal", 100, 5),
    ("Checkout", "Marketing", "Promotion codes in the URL", "medium", "low", 60, 4),
    ("Checkout", "Logistics", "Delivery slots at checkout", "high", "normal", 20, 3),
    ("Catalog", "Merchandising", "Size guide on product pages", "medium", "normal", 150, 21),
    ("Catalog", "Merchandising", "Search suggestions for brands", "medium", "low", 50, 18),
    ("Mobile", "Customer care", "Wish list shared between app and web", "medium", "normal", 95, 48),
    ("Platform", "Security office", "SSO for the admin console", "high", "high", 120, 12),
    ("Platform", "Internal audit", "Audit log export for auditors", "medium", "normal", 45, 9),
    ("Data", "Finance", "Daily revenue by channel", "medium", "normal", 70, 15),
    ("Data", "Suppliers", "Stock levels feed for suppliers", "medium", "normal", 25, 11),
]  # fmt: skip
APPLE_PAY = "Customers in the EU pay with Apple Pay; cards issued in the EEA need strong customer authentication."
# team, requester, title, value, urgency, (raised by, state), comment
OPEN = [
    ("Checkout", "Marketing", "Gift cards at checkout", "high", "normal", ("mo", "in_progress"), "Accepted for this quarter."),
    ("Data", "Finance", "Margin by product in the warehouse", "medium", "normal", ("lee", "accepted"), "After the orchestrator decision."),
    ("Mobile", "Customer care", "Order tracking in the iOS app", "high", "high", ("kim", "intake"), ""),
    ("Payments", "Nordic Outfitters", "Klarna instalments", "medium", "normal", ("lee", "intake"), ""),
    ("Catalog", "Merchandising", "Rebuild search on Elasticsearch 5", "low", "low", ("val", "rejected"), "Elasticsearch 5 is out of support; the search roadmap moves to OpenSearch."),
]  # fmt: skip


@transaction.atomic
def load() -> None:
    """Templates, policies, waivers and change requests, unless templates already exist."""
    if PipelineTemplate.objects.exists():
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    if "lee" not in users:
        return
    today = timezone.localdate()
    services = {s.slug: s for s in Service.objects.select_related("team")}
    _templates(users["lee"], services)
    rules = _policies(users["lee"])
    _waivers(users, rules, services, today)
    for days_ago in range(HISTORY_DAYS - 1, -1, -1):  # the trend, ending with today's
        policies_evaluate(today=today - days_ago * DAY)
    _change_requests(users, today)


def _templates(lee, services: dict[str, Service]) -> None:
    platform = Team.objects.get(name="Platform")
    now = timezone.now()
    for slug, (name, description, versions, assigned) in TEMPLATES.items():
        (first, note, _), later = versions[0], versions[1:]
        template = templates.template_create(
            actor=lee, name=name, slug=slug, description=description,
            owner_team=platform, stages=first, note=note,
        )  # fmt: skip
        for stages, note, _ in later:
            templates.template_new_version(actor=lee, template=template, stages=stages, note=note)
        for number, (*_, days_ago) in enumerate(versions, start=1):
            template.versions.filter(number=number).update(created_at=now - days_ago * DAY)
        PipelineTemplate.objects.filter(pk=template.pk).update(
            created_at=now - versions[0][2] * DAY
        )
        for service_slug, days in assigned.items():
            if service_slug in services:
                assignment = templates.service_assign(
                    actor=lee, service=services[service_slug], template=template
                )
                ServiceTemplate.objects.filter(pk=assignment.pk).update(
                    assigned_at=now - days * DAY
                )


def _policies(lee) -> dict:
    rules, now = {}, timezone.now()
    for name, text, rule_specs in POLICIES:
        first_text = KEEP_MAIN_GREEN_V1 if name == "Keep main green" else text
        policy = policies.policy_create(actor=lee, name=name, text=first_text, rules=rule_specs)
        Policy.objects.filter(pk=policy.pk).update(created_at=now - 300 * DAY)
        policy.versions.update(created_at=now - 300 * DAY)
        if first_text != text:  # tightened from two days to one, four months ago
            policies.policy_update_text(actor=lee, policy=policy, text=text)
            policy.versions.filter(number=2).update(created_at=now - 120 * DAY)
        rules.update({rule.key: rule for rule in policy.rules.all()})
    return rules


def _waivers(users, rules, services, today: date) -> None:
    now = timezone.now()
    for key, slug, asker, reason, (asked, decided), expires_in, grant, comment in WAIVERS:
        if asker not in users:
            continue
        waiver = policies.waiver_request(
            actor=users[asker], rule=rules[key], service=services[slug], reason=reason,
            expires_on=today + expires_in * DAY, today=today - asked * DAY,
        )  # fmt: skip
        Waiver.objects.filter(pk=waiver.pk).update(requested_at=now - asked * DAY)
        if decided is not None:
            policies.waiver_decide(
                actor=users["lee"], waiver=waiver, grant=grant, comment=comment,
                today=today - decided * DAY,
            )  # fmt: skip
            Waiver.objects.filter(pk=waiver.pk).update(decided_at=now - decided * DAY)


def _change_requests(users, today: date) -> None:
    lee, now = users["lee"], timezone.now()
    teams = {t.name: t for t in Team.objects.all()}
    used: list[int] = []  # each request keyed in its own deployment's change
    keyed: list[Change] = []
    links: list = []
    for team, requester, title, value, urgency, days_ago, waited in DELIVERED:
        deployment = _production_deployment(teams[team], now - days_ago * DAY, used)
        if deployment is None:
            continue
        used.append(deployment.pk)
        request = requests.cr_create(
            actor=lee, team=teams[team], title=title, requester=requester, value=value,
            urgency=urgency, description=APPLE_PAY if title == DELIVERED[0][2] else "",
        )  # fmt: skip
        requests.cr_triage(actor=lee, request=request, decision="accept")
        accepted_at = deployment.finished_at - waited * DAY
        ChangeRequest.objects.filter(pk=request.pk).update(
            created_at=accepted_at - 2 * DAY, accepted_at=accepted_at
        )
        change = deployment.changes.order_by("committed_at").last()
        change.title = f"{request.key}: {title}"
        keyed.append(change)
        # The history links changes to production deployments only; the run that took this
        # one to production deployed it to staging first.
        staged = Deployment.objects.filter(run_id=deployment.run_id, environment__name="staging")
        links += [Link(deployment=staging, change=change) for staging in staged]
    # One statement each: every write to these tables fires the rollups' statement triggers.
    Change.objects.bulk_update(keyed, ["title"])
    Link.objects.bulk_create(links, ignore_conflicts=True)
    requests.cr_refresh_delivery()

    for team, requester, title, value, urgency, (raiser, state), comment in OPEN:
        actor = users.get(raiser) if raiser != "val" else lee  # val only reads: lee logs it
        request = requests.cr_create(
            actor=actor or lee, team=teams[team], title=title, requester=requester,
            value=value, urgency=urgency,
        )  # fmt: skip
        if state != "intake":
            decision = "reject" if state == "rejected" else "accept"
            requests.cr_triage(actor=lee, request=request, decision=decision, comment=comment)
        if state == "in_progress":
            requests.cr_start(actor=actor or lee, request=request)
        accepted = now - 10 * DAY if request.accepted_at else None
        ChangeRequest.objects.filter(pk=request.pk).update(
            created_at=now - 14 * DAY, accepted_at=accepted
        )


def _production_deployment(team: Team, around, used: list[int]) -> Deployment | None:
    """The team's successful production deployment bringing changes, finished nearest before
    ``around`` (and not among ``used``)."""
    return (
        Deployment.objects.exclude(pk__in=used)
        .filter(
            service__team=team,
            environment__name="production",
            status="success",
            finished_at__lte=around,
            changes__isnull=False,
        )
        .order_by("-finished_at")
        .first()
    )
