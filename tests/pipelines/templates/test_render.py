"""Rendering a version as CI configuration: parsed back, the jobs are exactly the template's
stages in order, and the YAML passes the vendors' own JSON schemas (as vendored by
check-jsonschema)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

import jsonschema
import pytest
import yaml

from pipelines.templates.render import Design, render, render_design
from pipelines.templates.stages import Env, StageSpec, job_id, matches, patterns

STAGING = Env("staging", "Staging", 20)
PRODUCTION = Env("production", "Production", 30, is_production=True)
STAGES = [
    StageSpec("Build", "build"),
    StageSpec("Unit tests", "unit_test", gate="coverage >= 80%"),
    StageSpec("SAST: CodeQL", "static_analysis", gate="critical_vulnerabilities == 0"),
    StageSpec("Container scan", "container_scan", gate="critical_vulnerabilities == 0"),
    StageSpec("Deploy staging", "deploy", environment=STAGING),
    StageSpec("Load test", "performance_test", gate="p95_latency_delta <= 10%"),
    StageSpec("Approve production", "manual_approval"),
    StageSpec("Deploy production", "deploy", environment=PRODUCTION),
]
DESIGN = Design("Standard 'web' service", "standard", 3, STAGES, branch="trunk")
IDS = [job_id(s.name) for s in STAGES]


@cache
def vendor_schema(name: str) -> dict:
    return json.loads(files("check_jsonschema.builtin_schemas.vendor").joinpath(name).read_text())


def assert_valid(document: dict, schema_name: str) -> None:
    schema = vendor_schema(schema_name)
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.path)
    )
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_github_workflow_is_valid_and_chains_one_job_per_stage():
    text = render_design(DESIGN, "github")
    workflow = yaml.safe_load(text)

    assert_valid(workflow, "github-workflows.json")
    assert list(workflow["jobs"]) == IDS
    assert [job["name"] for job in workflow["jobs"].values()] == [s.name for s in STAGES]
    assert workflow["on"] == {
        "push": {"branches": ["trunk"]},
        "pull_request": {"branches": ["trunk"]},
    }
    jobs = workflow["jobs"]
    assert "needs" not in jobs["build"]
    assert [jobs[i]["needs"] for i in IDS[1:]] == [[i] for i in IDS[:-1]]
    assert jobs["deploy-staging"]["environment"] == "staging"
    assert jobs["deploy-production"]["environment"] == "production"
    assert jobs["approve-production"]["environment"] == "production-approval"
    assert (
        "# Required reviewers are configured on the GitHub environment 'production-approval'"
        in text
    )
    steps = jobs["unit-tests"]["steps"]
    assert steps[0] == {"uses": "actions/checkout@v4"}
    assert "echo 'Gate: coverage >= 80%'" in steps[1]["run"]


def test_gitlab_ci_is_valid_with_one_stage_and_job_per_stage_in_order():
    config = yaml.safe_load(render_design(DESIGN, "gitlab"))

    assert_valid(config, "gitlab-ci.json")
    assert config["stages"] == IDS
    assert [key for key in config if key != "stages"] == IDS
    assert [config[i]["stage"] for i in IDS] == IDS
    assert config["deploy-production"]["environment"] == {"name": "production"}
    approval = config["approve-production"]
    assert approval["rules"][0]["when"] == "manual"
    assert approval["allow_failure"] is False
    assert config["load-test"]["script"][-1] == "echo 'Gate: p95_latency_delta <= 10%'"


def test_jenkinsfile_has_each_stage_in_order_and_asks_for_approval():
    text = render_design(DESIGN, "jenkins")

    assert text.index("pipeline {") < text.index("agent any") < text.index("stages {")
    positions = [text.index(f"stage('{s.name}')") for s in STAGES]
    assert positions == sorted(positions)
    assert "input message: 'Deploy to production?', ok: 'Approve'" in text
    assert "when { branch 'trunk' }" in text
    assert text.count("{") == text.count("}")


def test_the_rendered_job_names_match_their_own_stages():
    # A service that adopts the generated file conforms: each job carries its stage's patterns.
    gitlab = yaml.safe_load(render_design(DESIGN, "gitlab"))
    github = yaml.safe_load(render_design(DESIGN, "github"))
    for index, stage in enumerate(STAGES):
        assert matches(patterns(stage), github["jobs"][IDS[index]]["name"], "")
        assert matches(patterns(stage), IDS[index], gitlab[IDS[index]]["stage"])


@pytest.mark.parametrize("target", ["github", "gitlab"])
def test_awkward_names_stay_valid_yaml(target):
    # YAML 1.1 booleans, a reserved GitLab keyword, quotes, colons and non-ASCII as names.
    stages = [
        StageSpec("Yes", "build"),
        StageSpec("cache", "unit_test"),
        StageSpec('Say "hi": déjà vu', "integration_test", gate="e2e_failures == 0"),
        StageSpec("On", "deploy", environment=PRODUCTION),
    ]
    document = yaml.safe_load(render_design(Design("x: y # z", "x", 1, stages), target))

    if target == "github":
        assert_valid(document, "github-workflows.json")
        assert list(document["jobs"]) == ["yes", "cache", "say-hi-deja-vu", "on"]
        assert document["jobs"]["say-hi-deja-vu"]["name"] == 'Say "hi": déjà vu'
    else:
        assert_valid(document, "gitlab-ci.json")
        assert document["stages"] == ["yes", "cache-job", "say-hi-deja-vu", "on"]


def test_an_unknown_target_is_refused():
    with pytest.raises(ValueError, match="one of github, gitlab, jenkins"):
        render_design(DESIGN, "circleci")


def test_it_renders_a_stored_version(standard):
    version = standard.versions.get()

    text = render(version, "gitlab")

    assert yaml.safe_load(text)["stages"][0] == "build"
    assert "version 1" in text
