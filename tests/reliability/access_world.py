"""The access matrix's world: two teams, one user per role, and one object of every API
resource and page owned by Checkout (plus Mobile's twins where a list must be checked for
foreign ids). Built once per module through the services, as people would have made it.

Roles (ROLES order): anonymous; ada admin, lee lead, sam stakeholder (organisation-wide); mo
member and val viewer of Checkout; kim member of Mobile (the outsider); nora, signed in with no
membership at all.

Organisation-wide objects have no team and every signed-in user reads them: environments,
pipeline templates, policies and their rules, maturity models, skills, radar quadrants and
entries, roadmaps, initiatives and their versions, CI sources (admins only), status reports
(organisation-wide readers only) and alert rules (leads' pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from maturity import services as maturity_services
from maturity.catalogue import parse_model
from maturity.models import Rating
from pipelines import services as pipeline_services
from pipelines.change_requests import services as cr_services
from pipelines.incidents import services as incident_services
from pipelines.models import Change, Deployment, JobRun, PipelineRun
from pipelines.policies import services as policy_services
from pipelines.services import push_source
from pipelines.templates import services as template_services
from poc import radar_services
from poc import services as poc_services
from poc.models import Quadrant
from portal.models import Environment, Role
from portal.uploads import Upload
from reporting.models import AlertRule
from reporting.slos.services import slo_create
from reporting.status.services import status_report_create
from roadmap import services as roadmap_services
from roadmap import versions as roadmap_versions
from roadmap.models import Roadmap
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory, UserFactory
from training import services as training_services

ROLES = ["anonymous", "admin", "lead", "stakeholder", "member", "viewer", "outsider", "nobody"]
USERNAMES = {
    "admin": "ada",
    "lead": "lee",
    "stakeholder": "sam",
    "member": "mo",
    "viewer": "val",
    "outsider": "kim",
    "nobody": "nora",
}
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "maturity" / "default_model.yaml"
# Two days before the world is built: in the past, and inside every default window (30 days).
T0 = timezone.now().replace(microsecond=0) - timedelta(days=2)


@dataclass
class World:
    users: dict  # role -> user (no "anonymous")
    checkout: object
    mobile: object
    # resource -> the Checkout object's lookup value in its URL (slug, pk, key ...)
    lookups: dict = field(default_factory=dict)
    # resource -> the Mobile twin's lookup value (for lists: what the outsider must see)
    mobile_lookups: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)


def _users(checkout, mobile) -> dict:
    users = {}
    for role, team, membership in [
        ("admin", None, Role.ADMIN),
        ("lead", None, Role.LEAD),
        ("stakeholder", None, Role.STAKEHOLDER),
        ("member", checkout, Role.MEMBER),
        ("viewer", checkout, Role.VIEWER),
        ("outsider", mobile, Role.MEMBER),
        ("nobody", None, None),
    ]:
        user = UserFactory(username=USERNAMES[role])
        if membership is not None:
            MembershipFactory(user=user, team=team, role=membership)
        users[role] = user
    return users


def _records(world: World, service, *, prefix: str) -> dict:
    """A run with a job, a production deployment carrying a change, for ``service``."""
    source = push_source()
    production = Environment.objects.get(slug="production")
    run = PipelineRun.objects.create(
        source=source, external_id=f"{prefix}-run", service=service, name="ci",
        status="success", branch="main", sha=f"{prefix}".ljust(40, "a")[:40],
        created_at=T0, started_at=T0, finished_at=T0 + timedelta(minutes=5),
    )  # fmt: skip
    job = JobRun.objects.create(
        source=source, external_id=f"{prefix}-job", run=run, run_external_id=run.external_id,
        name="unit-tests", status="success", created_at=T0,
    )  # fmt: skip
    change = Change.objects.create(
        service=service, sha=run.sha, committed_at=T0 - timedelta(hours=1), title=f"{prefix}"
    )
    deployment = Deployment.objects.create(
        source=source, service=service, environment=production, external_id=f"{prefix}-deploy",
        status="success", run=run, sha=run.sha, started_at=T0 + timedelta(minutes=6),
        finished_at=T0 + timedelta(minutes=8),
    )  # fmt: skip
    deployment.changes.add(change)
    return {"run": run.pk, "job": job.pk, "change": change.pk, "deployment": deployment.pk}


def build_world() -> World:
    checkout = TeamFactory(name="Checkout", slug="checkout")
    mobile = TeamFactory(name="Mobile", slug="mobile")
    users = _users(checkout, mobile)
    ada, lee, mo, kim = users["admin"], users["lead"], users["member"], users["outsider"]
    world = World(users=users, checkout=checkout, mobile=mobile)
    lookups, twins = world.lookups, world.mobile_lookups

    for slug, position, production in [("staging", 20, False), ("production", 30, True)]:
        Environment.objects.update_or_create(
            slug=slug, defaults={"name": slug, "position": position, "is_production": production}
        )
    cart = ServiceFactory(team=checkout, name="Cart API", slug="cart-api")
    bff = ServiceFactory(team=mobile, name="Mobile BFF", slug="mobile-bff")
    TeamFactory(name="Empty", slug="empty")  # a team that may be deleted (no services)
    world.objects.update(cart=cart, bff=bff)
    lookups.update(team="checkout", service="cart-api", environment="staging")
    twins.update(team="mobile", service="mobile-bff")

    # --- delivery records, sources ----------------------------------------------------------------
    mine, theirs = _records(world, cart, prefix="checkout"), _records(world, bff, prefix="mobile")
    for resource, basename in [("run", "pipelinerun"), ("job", "jobrun"), ("change", "change"),
                               ("deployment", "deployment")]:  # fmt: skip
        lookups[basename], twins[basename] = mine[resource], theirs[resource]
    source = pipeline_services.source_create(
        actor=ada, kind="github", name="Checkout GitHub", base_url="https://api.github.com/",
        token="ghp_world_token", webhook_secret="world-secret",
        repositories=[{"name": "acme/cart", "service": cart.slug}],
    )  # fmt: skip
    lookups["cisource"] = source.slug

    # --- incidents, reviews, actions --------------------------------------------------------------
    incident = incident_services.incident_open(
        actor=mo, service=cart, title="Checkout errors", opened_at=T0
    )
    twin = incident_services.incident_open(
        actor=kim, service=bff, title="Mobile errors", opened_at=T0
    )
    review = incident_services.review_start(actor=mo, incident=incident)
    action = incident_services.action_add(
        actor=mo, review=review, title="Add an alert", due_on=date(2026, 4, 1)
    )
    twin_review = incident_services.review_start(actor=kim, incident=twin)
    twin_action = incident_services.action_add(
        actor=kim, review=twin_review, title="Mobile alert", due_on=date(2026, 4, 1)
    )
    lookups.update(incident=incident.pk, postincidentreview=review.pk, reviewaction=action.pk)
    twins.update(incident=twin.pk, postincidentreview=twin_review.pk, reviewaction=twin_action.pk)

    # --- templates, policies, waivers, change requests --------------------------------------------
    template = template_services.template_create(
        actor=lee, name="Standard service", description="Build and deploy.",
        owner_team=checkout,
        stages=[{"name": "Build", "kind": "build"}, {"name": "Unit tests", "kind": "unit_test"},
                {"name": "Deploy production", "kind": "deploy", "environment": "production"}],
    )  # fmt: skip
    template_services.service_assign(actor=lee, service=cart, template=template)
    template_services.service_assign(actor=lee, service=bff, template=template)
    lookups.update(
        pipelinetemplate=template.slug,
        templateassignment="cart-api",
        templateconformance="cart-api",
    )
    twins.update(templateassignment="mobile-bff", templateconformance="mobile-bff")
    policy = policy_services.policy_create(
        actor=lee, name="Safe delivery", text="Production from main.",
        rules=[{"kind": "prod_from_default_branch", "key": "prod-from-main"}],
    )  # fmt: skip
    rule = policy.rules.get()
    today = timezone.localdate()
    waiver = policy_services.waiver_request(
        actor=mo, rule=rule, service=cart, reason="Migrating", expires_on=today + timedelta(days=9)
    )
    twin_waiver = policy_services.waiver_request(
        actor=kim, rule=rule, service=bff, reason="Later", expires_on=today + timedelta(days=9)
    )
    lookups.update(policy=policy.slug, policyrule=rule.key, waiver=waiver.pk)
    twins.update(waiver=twin_waiver.pk)
    request = cr_services.cr_create(actor=mo, team=checkout, title="Export CSV", requester="ACME")
    twin_request = cr_services.cr_create(actor=kim, team=mobile, title="Dark mode", requester="Bo")
    lookups["changerequest"], twins["changerequest"] = request.key, twin_request.key

    # --- maturity ---------------------------------------------------------------------------------
    model = maturity_services.model_import(
        actor=None, spec=parse_model(DEFAULT_MODEL.read_text(encoding="utf-8"))
    )
    assessment = maturity_services.assessment_create(
        actor=mo, team=checkout, model=model, period="2026-Q1"
    )
    twin_assessment = maturity_services.assessment_create(
        actor=kim, team=mobile, model=model, period="2026-Q1"
    )
    # Every capability rated, so that the draft may be submitted.
    Rating.objects.filter(assessment=assessment).update(level=2)
    rating = Rating.objects.select_related("capability").filter(assessment=assessment).first()
    evidence = maturity_services.evidence_attach(
        actor=mo, rating=rating,
        upload=Upload(name="runbook.txt", content_type="text/plain", data=b"checkout runbook"),
    )  # fmt: skip
    lookups.update(
        maturitymodel=model.slug, assessment=assessment.slug, capability=rating.capability.key,
        evidence=evidence.pk,
    )  # fmt: skip
    twins["assessment"] = twin_assessment.slug

    # --- training ---------------------------------------------------------------------------------
    skill = training_services.skill_create(actor=lee, slug="terraform", name="Terraform")
    skill_rating = training_services.skill_rate_self(actor=mo, skill=skill, level=2)
    twin_rating = training_services.skill_rate_self(actor=kim, skill=skill, level=3)
    plan = training_services.plan_create(
        actor=lee, team=checkout, period="2026-Q1", budget=Decimal("1000")
    )
    item = training_services.item_add(
        actor=lee, plan=plan, kind="course", title="Terraform basics", skill=skill
    )
    twin_plan = training_services.plan_create(
        actor=lee, team=mobile, period="2026-Q1", budget=Decimal("500")
    )
    lookups.update(
        skill=skill.slug, skillrating=skill_rating.pk, trainingplan=plan.slug, trainingitem=item.pk
    )
    twins.update(skillrating=twin_rating.pk, trainingplan=twin_plan.slug)

    # --- POCs and the radar -----------------------------------------------------------------------
    tools = Quadrant.objects.get(slug="tools")
    poc = poc_services.poc_propose(
        actor=mo, team=checkout, title="Dagster for the nightly jobs", tool="Dagster",
        quadrant=tools, problem="Cron jobs fail silently.", problem_key="orchestration",
        starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 15), evaluators=[mo],
        criteria=[("fit", "Fit", 3), ("cost", "Cost", 1)],
    )  # fmt: skip
    poc_evidence = poc_services.evidence_add(
        actor=mo, poc=poc, title="Benchmark",
        upload=Upload(name="bench.txt", content_type="text/plain", data=b"checkout bench"),
    )  # fmt: skip
    twin_poc = poc_services.poc_propose(
        actor=kim, team=mobile, title="Expo for the apps", tool="Expo", quadrant=tools,
        problem="Slow releases.", problem_key="mobile-builds", starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 15), evaluators=[kim], criteria=[("fit", "Fit", 1)],
    )  # fmt: skip
    entry = radar_services.entry_create(
        actor=lee, name="Argo CD", quadrant=tools, ring="trial", reason="GitOps"
    )
    lookups.update(
        poc=poc.slug, problem="orchestration", pocevidence=poc_evidence.pk,
        radarquadrant=tools.slug, radarentry=entry.slug,
    )  # fmt: skip
    twins["poc"] = twin_poc.slug

    # --- roadmap ----------------------------------------------------------------------------------
    roadmap = roadmap_services.roadmap_create(
        actor=lee, name="DevOps 2027", approvers=[users["stakeholder"]],
        approval_rule=Roadmap.Rule.ALL,
    )  # fmt: skip
    theme = roadmap_services.theme_create(actor=lee, roadmap=roadmap, name="Faster delivery")
    initiative = roadmap_services.initiative_create(
        actor=lee, theme=theme, title="Standard pipeline everywhere",
        starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30), teams=[checkout], owner=lee,
    )  # fmt: skip
    deliverable = roadmap_services.deliverable_create(
        actor=lee, initiative=initiative, title="Cart API on the standard pipeline",
        team=checkout, starts_on=date(2027, 1, 1), due_on=date(2027, 3, 31),
        budget=Decimal("10000"), services=[cart], targets=[{"name": "Runbook reviewed"}],
    )  # fmt: skip
    twin_deliverable = roadmap_services.deliverable_create(
        actor=lee, initiative=initiative, title="BFF on the standard pipeline", team=mobile,
        starts_on=date(2027, 1, 1), due_on=date(2027, 3, 31), budget=Decimal("5000"),
    )  # fmt: skip
    roadmap_versions.version_submit(actor=lee, version=roadmap.versions.get(number=1))
    lookups.update(
        roadmap=roadmap.slug, version=1, initiative=initiative.slug,
        deliverable=deliverable.slug, target=deliverable.targets.get().pk,
    )  # fmt: skip
    twins["deliverable"] = twin_deliverable.slug

    # --- reporting: status reports, SLOs, alert rules ---------------------------------------------
    report = status_report_create(
        actor=lee, period_start=today - timedelta(days=7), period_end=today - timedelta(days=1)
    )
    slo = slo_create(actor=lee, service=cart, name="Availability", objective=99.9)
    twin_slo = slo_create(actor=lee, service=bff, name="Availability", objective=99.5)
    alert_rule = AlertRule.objects.create(
        name="Red main", kind=AlertRule.Kind.RED_BRANCH, hours=4, emails="lee@example.com"
    )
    lookups["reviewpolicy"] = None  # one policy for the organisation, addressed by no key
    lookups.update(statusreport=report.slug, slo=slo.slug, alertrule=alert_rule.pk)
    twins["slo"] = twin_slo.slug
    return world


def url_patterns(patterns=None, prefix: str = ""):
    """(route, pattern) of every URL pattern in the urlconf, included ones flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


# --- running requests against the world -----------------------------------------------------------

# Bookkeeping a refused request may write without changing anything it was refused.
BOOKKEEPING_TABLES = frozenset({"django_session"})


def rows_written() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
            " WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
        )
        return dict(cursor.fetchall())


@dataclass
class Attempt:
    status: int
    written: list[str]  # tables the request wrote to (bookkeeping aside)
    response: object
    seen_after: object = None  # what ``inspect`` read before the rollback


def attempt(
    client, method: str, url: str, body=None, format: str = "json", inspect=None, **extra
) -> Attempt:
    """One request, rolled back afterwards: each cell meets the same untouched world.
    ``inspect()`` reads what the request left, before the rollback."""
    with transaction.atomic():
        before = rows_written()
        if method in ("get", "head", "options"):
            response = getattr(client, method)(url, **extra)
        else:
            # The API client takes a format; the browser client posts a form.
            options = {"format": format} if hasattr(client, "force_authenticate") else {}
            response = getattr(client, method)(url, body, **options, **extra)
        after = rows_written()
        seen_after = inspect() if inspect else None
        transaction.set_rollback(True)
    written = sorted(
        table
        for table, count in after.items()
        if count != before.get(table, 0) and table not in BOOKKEEPING_TABLES
    )
    return Attempt(response.status_code, written, response, seen_after)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, built once for the module in a transaction rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def db_in_world(world, db) -> World:
    """The world, inside the test's own (rolled back) savepoint."""
    return world
