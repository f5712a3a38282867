"""The rules of a version's ordered stages (pure), and how stages are recognised in runs."""

from __future__ import annotations

import pytest

from pipelines.models.templates import StageKind
from pipelines.templates.stages import (
    DEFAULT_MATCH,
    KINDS,
    Env,
    StageSpec,
    describe,
    guarding_stages,
    job_id,
    matches,
    patterns,
    stage_problems,
)

DEV = Env("dev", "dev", 10)
STAGING = Env("staging", "staging", 20)
PRODUCTION = Env("production", "production", 30, is_production=True)


def build():
    return StageSpec("Build", "build")


def unit_tests(gate=""):
    return StageSpec("Unit tests", "unit_test", gate=gate)


def deploy(env, name=None):
    return StageSpec(name or f"Deploy {env.name}", "deploy", environment=env)


def messages(stages):
    return [describe(p, stages) for p in stage_problems(stages)]


def test_the_kinds_are_the_models():
    assert dict(StageKind.choices) == KINDS
    assert set(DEFAULT_MATCH) == set(KINDS)


def test_a_good_pipeline_has_no_problems():
    stages = [
        build(),
        unit_tests("coverage >= 80%"),
        StageSpec("Trivy", "container_scan", gate="critical_vulnerabilities == 0"),
        deploy(STAGING),
        StageSpec("Approve", "manual_approval"),
        deploy(PRODUCTION),
    ]
    assert stage_problems(stages) == []


def test_it_needs_a_stage():
    assert messages([]) == ["A template needs at least one stage."]


def test_it_refuses_a_deploy_before_any_test():
    stages = [build(), deploy(STAGING), unit_tests(), deploy(PRODUCTION)]

    assert messages(stages) == [
        "Stage 2 (Deploy staging): deploys to staging before any test stage."
    ]


def test_without_any_test_every_deploy_is_refused():
    stages = [build(), deploy(STAGING), deploy(PRODUCTION)]

    assert [p.index for p in stage_problems(stages)] == [1, 2]


def test_it_refuses_production_before_staging():
    stages = [build(), unit_tests(), deploy(PRODUCTION), deploy(STAGING)]

    assert messages(stages) == [
        "Stage 4 (Deploy staging): deploys to staging after production: the promotion path "
        "runs staging before production."
    ]


def test_skipping_an_environment_is_allowed():
    assert stage_problems([build(), unit_tests(), deploy(DEV), deploy(PRODUCTION)]) == []


def test_deploys_need_an_environment_and_others_must_not_have_one():
    stages = [
        StageSpec("Build", "build", environment=DEV),
        unit_tests(),
        StageSpec("Deploy", "deploy"),
    ]

    assert messages(stages) == [
        "Stage 1 (Build): only deploy stages have an environment.",
        "Stage 3 (Deploy): a deploy stage needs an environment.",
    ]


def test_it_refuses_duplicate_names_by_their_job_id():
    stages = [build(), unit_tests(), StageSpec("unit-tests", "integration_test")]

    assert messages(stages) == ["Stage 3 (unit-tests): the name repeats stage 2 (“Unit tests”)."]


def test_it_refuses_unknown_kinds_and_bad_gates_with_the_position():
    stages = [StageSpec("Build", "compile"), unit_tests("coverage >= lots")]

    assert messages(stages) == [
        "Stage 1 (Build): unknown kind “compile”; one of build, unit_test, integration_test, "
        "static_analysis, dependency_scan, container_scan, performance_test, deploy, "
        "manual_approval.",
        "Stage 2 (Unit tests): the gate does not parse: expected a number, found “lots” at "
        "column 13.",
    ]


def test_an_approval_must_guard_a_deploy():
    stages = [build(), unit_tests(), deploy(PRODUCTION), StageSpec("Approve", "manual_approval")]

    assert messages(stages) == [
        "Stage 4 (Approve): a manual approval must come before the deploy it guards."
    ]


@pytest.mark.parametrize("name", ["", "   ", "!!!", "a|b", "two\nlines"])
def test_it_refuses_names_that_cannot_name_a_job(name):
    assert [p.index for p in stage_problems([StageSpec(name, "build")])] == [0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Unit tests", "unit-tests"),
        ("  SAST (CodeQL) ", "sast-codeql"),
        ("2nd check", "stage-2nd-check"),
    ],
)
def test_job_ids(name, expected):
    assert job_id(name) == expected


def test_patterns_are_the_match_else_the_kind_plus_the_stage_own_names():
    assert patterns(StageSpec("Trivy scan", "container_scan", match=" *grype* | *xray* ")) == [
        "*grype*", "*xray*", "trivy scan", "trivy-scan",
    ]  # fmt: skip
    default = patterns(StageSpec("Approve production", "manual_approval"))
    assert default == ["*approv*", "*gate*", "approve production", "approve-production"]


def test_matching_is_by_job_or_stage_name_in_any_case():
    container = patterns(StageSpec("Image scan", "container_scan"))

    assert matches(container, "Trivy", "")
    assert matches(container, "scan", "CONTAINER-SCAN")
    assert not matches(container, "unit-tests", "test")


def test_guards_are_the_gate_stages_before_the_deploy():
    stages = [
        build(), unit_tests(), deploy(STAGING), StageSpec("Load", "performance_test"),
        StageSpec("Approve", "manual_approval"), deploy(PRODUCTION),
        StageSpec("Smoke", "integration_test"),
    ]  # fmt: skip

    assert guarding_stages(stages, "production") == [1, 3, 4]
    assert guarding_stages(stages, "staging") == [1]
    # An environment the design does not deploy to: guarded like its first production deploy.
    assert guarding_stages(stages, "eu-production") == [1, 3, 4]
