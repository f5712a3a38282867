"""Observed vs designed on hand-made runs, jobs and deployments: which designed stages a
service's runs contain, which are missing, which production deployments skipped which gate;
and each template's adoption per team."""

from __future__ import annotations

import pytest

from pipelines.templates import selectors, services
from tests.factories import ServiceFactory
from tests.pipelines.templates.conftest import STANDARD


@pytest.fixture
def cart(org, service, standard):
    services.service_assign(actor=org.users["lee"], service=service, template=standard)
    return service


@pytest.fixture
def history(cart, envs, record):
    """Three runs of Cart API in the window and one older, and its deployments.

    The standard template's stages and the patterns that find them (blank match: the kind's):
      Build *build*|*compile* · Unit tests *unit*|*test* · SAST *sast*|*lint*|*sonar*|*codeql*
      Container scan *trivy*|*container*scan*|... · Deploy staging *deploy* · Load test
      *perf*|*load*|*k6*|*gatling* · Approve production *approv*|*gate* · Deploy production *deploy*
    """
    r1 = record.run(cart, ["compile", ("pytest", "test"), ("codeql", "analyze"),
                           ("deploy-staging", "deploy"), "approve", ("deploy-prod", "deploy")],
                    days_ago=1)  # fmt: skip
    r2 = record.run(cart, ["compile", ("pytest", "test"), ("deploy-staging", "deploy")], days_ago=2)
    r3 = record.run(cart, ["compile", ("pytest", "test"), ("eslint", "lint")], days_ago=3)
    old = record.run(cart, ["trivy"], days_ago=40)  # outside the 30 days: proves nothing now
    deployments = {
        "D1": record.deploy(cart, envs.production, run=r1, days_ago=1, external_id="D1"),
        "D2": record.deploy(cart, envs.production, run=r2, days_ago=2, external_id="D2"),
        "D3": record.deploy(cart, envs.production, run=None, days_ago=3, external_id="D3"),
        # not counted: staging, too old, failed
        "S1": record.deploy(cart, envs.staging, run=r2, days_ago=2, external_id="S1"),
        "OLD": record.deploy(cart, envs.production, run=old, days_ago=40, external_id="OLD"),
    }
    failed = record.deploy(cart, envs.production, run=r3, days_ago=3, external_id="F1")
    failed.status = "failure"
    failed.save()
    return deployments


def by_name(result):
    return {s.stage.name: s for s in result.stages}


def test_it_finds_present_and_missing_stages_with_their_share(history, cart):
    [result] = selectors.conformance()

    stages = by_name(result)
    assert result.runs == 3
    # Per stage, the runs (of r1, r2, r3) with a matching job, over the 3 runs:
    #   Build: compile in all three -> 3/3; Unit tests: pytest (stage "test") in all -> 3/3
    #   SAST: codeql in r1, eslint (*lint*) in r3 -> 2/3; Container scan: only the old trivy -> 0
    #   Deploy staging and Deploy production: *deploy* in r1 and r2 -> 2/3
    #   Load test: nothing -> 0; Approve production: "approve" in r1 -> 1/3
    assert {name: s.runs for name, s in stages.items()} == {
        "Build": 3, "Unit tests": 3, "SAST": 2, "Container scan": 0,
        "Deploy staging": 2, "Load test": 0, "Approve production": 1, "Deploy production": 2,
    }  # fmt: skip
    assert stages["SAST"].share == pytest.approx(2 / 3)
    assert stages["SAST"].jobs == ["codeql", "eslint"]
    assert stages["Container scan"].share == 0
    assert [s.stage.name for s in result.missing] == ["Container scan", "Load test"]
    # 6 of the 8 designed stages are present.
    assert result.conformance == pytest.approx(6 / 8)
    assert result.percent == 75


def test_it_lists_the_production_deployments_that_skipped_a_gate(history):
    [result] = selectors.conformance()

    # The gates before "Deploy production": Unit tests, SAST, Container scan, Load test,
    # Approve production. D1's run r1 has pytest, codeql and approve: it lacks the scan and the
    # load test. D2's run r2 has only pytest: it lacks four. D3 has no run: it proves none.
    skipped = {s.deployment.external_id: [g.name for g in s.skipped] for s in result.skipped}
    assert skipped == {
        "D1": ["Container scan", "Load test"],
        "D2": ["SAST", "Container scan", "Load test", "Approve production"],
        "D3": ["Unit tests", "SAST", "Container scan", "Load test", "Approve production"],
    }
    assert [s.without_run for s in result.skipped] == [False, False, True]
    assert result.production_deployments == 3  # S1 is staging, OLD too old, F1 failed


def test_a_deployment_whose_run_has_every_gate_skipped_nothing(org, cart, envs, record):
    run = record.run(cart, [s["name"] for s in STANDARD])  # the stages' own names always match
    record.deploy(cart, envs.production, run=run)

    [result] = selectors.conformance()

    assert result.conformance == 1
    assert result.skipped == []
    assert result.production_deployments == 1


def test_without_runs_every_stage_is_missing(cart):
    [result] = selectors.conformance()

    assert result.runs == 0
    assert result.conformance == 0
    assert len(result.missing) == len(STANDARD)
    assert all(s.share is None for s in result.stages)


def test_it_checks_against_the_latest_version(org, cart, standard, record):
    record.run(cart, ["build"])
    services.template_new_version(
        actor=org.users["lee"],
        template=standard,
        stages=[{"name": "Build", "kind": "build"}, {"name": "Tests", "kind": "unit_test"}],
        note="Only build and test for now.",
    )

    [result] = selectors.conformance()

    assert result.version.number == 2
    assert [s.stage.name for s in result.stages] == ["Build", "Tests"]
    assert result.conformance == 0.5


def test_the_window_is_the_last_days(history):
    [result] = selectors.conformance(days=60)

    assert result.runs == 4
    assert by_name(result)["Container scan"].runs == 1  # the old trivy job now counts


def test_adoption_per_team_and_the_unassigned(org, history, standard):
    ServiceFactory(team=org.checkout, name="Legacy", slug="legacy")
    app = ServiceFactory(team=org.mobile, name="App", slug="app")
    services.service_assign(actor=org.users["lee"], service=app, template=standard)
    services.template_create(
        actor=org.users["lee"], name="Library", stages=[{"name": "Build", "kind": "build"},
                                                        {"name": "Test", "kind": "unit_test"}],
    )  # fmt: skip

    adoption = selectors.adoption()

    standard_row, library_row = sorted(
        adoption.templates, key=lambda t: t.template.name != "Standard service"
    )
    assert standard_row.assigned == 2
    teams = {t.team.name: (t.assigned, t.team_services, t.mean_percent) for t in standard_row.teams}
    # Checkout: Cart API at 75% (above), Legacy unassigned; Mobile: App without runs, 0%.
    assert teams == {"Checkout": (1, 2, 75), "Mobile": (1, 1, 0)}
    assert library_row.teams == []
    assert [s.slug for s in adoption.unassigned] == ["legacy"]


def test_a_viewer_sees_only_own_teams(org, history, standard):
    from portal.access import visible_services

    app = ServiceFactory(team=org.mobile, name="App", slug="app")
    services.service_assign(actor=org.users["lee"], service=app, template=standard)

    seen = selectors.conformance(services=visible_services(org.users["val"]))

    assert [r.service.slug for r in seen] == ["cart-api"]


def test_it_reads_in_a_fixed_number_of_queries(
    org, history, standard, envs, record, django_assert_max_num_queries
):
    for n in range(4):
        other = ServiceFactory(team=org.mobile, name=f"App {n}", slug=f"app-{n}")
        services.service_assign(actor=org.users["lee"], service=other, template=standard)
        run = record.run(other, ["build", "unit"])
        record.deploy(other, envs.production, run=run)

    # assignments, latest versions, their stages, run counts, job names, deployments, their jobs
    with django_assert_max_num_queries(7):
        results = selectors.conformance()

    assert len(results) == 5
