"""The demo's delivery history tells DEMO.md's story, in numbers anyone can check by hand.

The demo is loaded once for the module inside a transaction that is rolled back at the end, so
the tests read the same year without paying for it each time, and nothing leaks to other modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from statistics import median

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from pipelines import demo as pipelines_demo
from pipelines.models import Change, CISource, Deployment, Incident, JobRun, PipelineRun
from portal import demo as portal_demo

MODELS = [CISource, PipelineRun, JobRun, Deployment, Change, Incident]
TEAMS = ["Payments", "Checkout", "Catalog", "Mobile", "Platform", "Data"]
TEST_JOBS = ["unit-tests", "integration-tests"]


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Load the demo's history once for the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        portal_demo.load()
        pipelines_demo.history_load()
        # Check the deferred foreign keys now, once: each test's teardown checks what is pending,
        # and that would be the whole year again every time.
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(loaded, db) -> None:
    """The loaded demo, inside the test's own (rolled back) savepoint."""


def production(team: str, **filters: object) -> QuerySet[Deployment]:
    return Deployment.objects.filter(
        service__team__name=team, environment__name="production", **filters
    )


def days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def failure_rate(team: str) -> float:
    """Production deployments that failed or caused an incident, over all of them."""
    deployments = production(team).annotate(caused=Count("incidents"))
    failed = deployments.filter(Q(status="failure") | Q(caused__gt=0)).count()
    return failed / deployments.count()


def lead_hours(team: str, **filters: object) -> list[float]:
    """Commit -> successful production deployment, per (deployment, change)."""
    return [
        (finished - committed).total_seconds() / 3600
        for finished, committed in production(team, status="success", **filters).values_list(
            "finished_at", "changes__committed_at"
        )
    ]


def test_it_loads_nothing_twice(demo):
    before = [model.objects.count() for model in MODELS]
    pipelines_demo.history_load()
    assert [model.objects.count() for model in MODELS] == before


def test_it_creates_three_inactive_sources_with_secrets(demo):
    sources = {s.slug: s for s in CISource.objects.all()}
    assert set(sources) == {"acme-github", "acme-gitlab", "mobile-jenkins"}
    assert all(not s.is_active and s.last_success_at for s in sources.values())
    assert sources["acme-github"].get_token() == "demo-token-acme-github"
    assert {r["service"] for r in sources["mobile-jenkins"].repositories} == {
        "ios-app",
        "android-app",
        "mobile-bff",
    }
    assert PipelineRun.objects.filter(service__slug="catalog-api").first().source.slug == (
        "acme-gitlab"
    )


def test_it_keeps_external_ids_unique_per_source(demo):
    for model in [PipelineRun, JobRun, Deployment, Incident]:
        duplicates = model.objects.values("source", "external_id").annotate(n=Count("id"))
        assert not duplicates.filter(n__gt=1).exists(), model


def test_it_ends_today_with_a_few_runs_in_progress(demo):
    now = timezone.now()
    assert not PipelineRun.objects.filter(created_at__gt=now).exists()
    running = PipelineRun.objects.filter(status="running")
    assert 3 <= running.count() <= 10
    assert all(run.created_at > now - timedelta(hours=1) for run in running)
    assert PipelineRun.objects.filter(created_at__lt=days_ago(360)).exists()


def test_it_gives_each_run_two_to_five_jobs(demo):
    jobs = PipelineRun.objects.annotate(n=Count("jobs")).values_list("n", flat=True)
    assert min(jobs) >= 2
    assert max(jobs) == 5
    statuses = set(PipelineRun.objects.values_list("status", flat=True).distinct())
    assert statuses == {"success", "failure", "cancelled", "running"}


def test_payments_deploys_several_times_every_working_day(demo):
    since = days_ago(90)
    working_days = sum((since.date() + timedelta(days=d)).weekday() < 5 for d in range(1, 91))
    for slug in ["payments-api", "ledger", "fraud-scoring"]:
        deploys = production("Payments", service__slug=slug, started_at__gte=since).count()
        assert deploys / working_days > 1.5, slug


def test_payments_is_elite(demo):
    assert median(lead_hours("Payments")) < 24
    assert 0.01 <= failure_rate("Payments") <= 0.08
    recoveries = [
        (i.resolved_at - i.opened_at).total_seconds() / 60
        for i in Incident.objects.filter(service__team__name="Payments")
    ]
    assert recoveries and median(recoveries) < 60 and max(recoveries) < 100


def test_every_payments_production_deployment_brought_changes(demo):
    deployments = Deployment.objects.filter(
        service__team__name="Payments", environment__is_production=True
    )
    assert deployments.filter(environment__name="prod-eu").exists()
    assert not deployments.annotate(n=Count("changes")).filter(n=0).exists()


def test_every_change_was_committed_before_it_shipped(demo):
    for team in TEAMS:
        assert min(lead_hours(team)) > 0, team
    assert not Change.objects.filter(deployments__isnull=True).exists()


def test_checkout_steps_up_after_adopting_the_standard_pipeline(demo):
    first = production("Checkout", started_at__lt=days_ago(365 - 91)).count()
    last = production("Checkout", started_at__gte=days_ago(91)).count()
    assert last >= 3 * first > 0
    assert median(lead_hours("Checkout", started_at__lt=days_ago(200))) > 48  # a few days
    assert median(lead_hours("Checkout", started_at__gte=days_ago(160))) < 24


def test_catalog_has_a_flaky_suite_and_a_red_main_now_and_then(demo):
    runs = PipelineRun.objects.filter(service__team__name="Catalog")
    green = dict(runs.filter(status="success").values_list("sha", "created_at"))
    red_on_tests = runs.filter(
        status="failure", jobs__status="failure", jobs__name__in=TEST_JOBS
    ).values_list("sha", "created_at")
    flaky = {sha for sha, created in red_on_tests if sha in green and created < green[sha]}
    assert len(flaky) >= 20
    main = list(runs.filter(branch="main", event="push").order_by("created_at"))
    streaks, streak = [], []
    for run in main:
        if run.status == "failure":
            streak.append(run)
        elif streak:
            streaks.append(streak[-1].created_at - streak[0].created_at)
            streak = []
    assert sum(span > timedelta(hours=3) for span in streaks) >= 5
    weekly = production("Catalog", service__slug="catalog-api").count()
    assert 40 <= weekly <= 65


def test_mobile_releases_monthly_with_long_lead_times(demo):
    for slug in ["ios-app", "android-app", "mobile-bff"]:
        assert 8 <= production("Mobile", service__slug=slug).count() <= 16, slug
    assert median(lead_hours("Mobile")) > 24 * 7
    assert 0.2 <= failure_rate("Mobile") <= 0.3


def test_mobile_had_a_painful_incident_in_spring(demo):
    painful = [
        incident
        for incident in Incident.objects.filter(service__team__name="Mobile").select_related(
            "deployment__environment"
        )
        if timezone.localtime(incident.opened_at).month in (3, 4)
        and incident.resolved_at - incident.opened_at > timedelta(hours=24)
        and incident.deployment.environment.is_production
    ]
    assert len(painful) == 1
    assert painful[0].opened_at > days_ago(365)


def test_failed_deployments_are_followed_by_rework(demo):
    failed = Deployment.objects.filter(status="failure", environment__name="production")
    assert failed.count() > 20
    for deployment in failed:
        assert Deployment.objects.filter(
            service=deployment.service,
            environment=deployment.environment,
            is_rework=True,
            started_at__gt=deployment.finished_at,
        ).exists()


def test_platform_is_high_and_data_is_weekly(demo):
    weeks = 52
    platform = production("Platform", service__slug="identity").count() / weeks
    data = production("Data", service__slug="events-pipeline").count() / weeks
    assert 2.5 <= platform <= 5
    assert 0.7 <= data <= 1.3
    assert 6 <= median(lead_hours("Platform")) <= 40
