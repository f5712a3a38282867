"""A template version as a starting CI configuration: a GitHub Actions workflow, a GitLab CI file
or a Jenkinsfile, with one job (or stage) per designed stage, in order.

The files are skeletons: each step echoes what to do and the stage's gate, to be replaced with
the real commands. Job names are the stages' names (GitHub, Jenkins) or job ids (GitLab), which
the stage's patterns always match, so a service running the file conforms to the template.

Written as text rather than dumped from a dict: the GitHub file carries comments (where the
required reviewers of an approval are set), and the order of keys reads like hand-written CI.
Every scalar that comes from a user is JSON-quoted, which YAML reads back unchanged.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from pipelines.templates.stages import Env, StageSpec, job_id, spec_of

TARGETS = {"github": "GitHub Actions", "gitlab": "GitLab CI", "jenkins": "Jenkinsfile"}
MEDIA_TYPES = {"github": "text/yaml", "gitlab": "text/yaml", "jenkins": "text/plain"}
FILENAMES = {
    "github": ".github/workflows/ci.yml",
    "gitlab": ".gitlab-ci.yml",
    "jenkins": "Jenkinsfile",
}

# Top-level keys of .gitlab-ci.yml that cannot name a job.
GITLAB_RESERVED = frozenset(
    {"image", "services", "stages", "types", "before_script", "after_script", "variables",
     "cache", "include", "workflow", "default", "pages", "spec"}
)  # fmt: skip

WHAT_TO_DO = {
    "build": "Build and package the service",
    "unit_test": "Run the unit tests",
    "integration_test": "Run the integration tests",
    "static_analysis": "Run static analysis (SAST)",
    "dependency_scan": "Scan the dependencies for known vulnerabilities",
    "container_scan": "Scan the container image",
    "performance_test": "Run the performance tests against the baseline",
    "deploy": "Deploy to {env}",
    "manual_approval": "Approved to deploy to {env}",
}


@dataclass(frozen=True)
class Design:
    """What a configuration is rendered from: the template and one version's stages."""

    name: str
    slug: str
    number: int
    stages: Sequence[StageSpec]
    branch: str = "main"


def render(version, target: str, *, branch: str = "main") -> str:
    """The configuration for ``target`` (one of ``TARGETS``) of a ``TemplateVersion``."""
    stages = [spec_of(s) for s in version.stages.select_related("environment")]
    design = Design(version.template.name, version.template.slug, version.number, stages, branch)
    return render_design(design, target)


def render_design(design: Design, target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"Unknown target {target!r}: one of {', '.join(TARGETS)}.")
    renderer: Callable[[Design], str] = {
        "github": github_workflow,
        "gitlab": gitlab_ci,
        "jenkins": jenkinsfile,
    }[target]
    return renderer(design)


# --- helpers ---------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text)


def _key(job: str) -> str:
    """A job id as a YAML key or list item: plain unless YAML would read it as something else
    (``yes``, ``on`` and ``null`` are booleans and null to YAML 1.1 readers such as PyYAML)."""
    return job if yaml.safe_load(job) == job else _q(job)


def _guarded_env(stages: Sequence[StageSpec], index: int) -> Env | None:
    """The environment of the first deploy after stage ``index`` (what an approval guards)."""
    return next(
        (s.environment for s in stages[index + 1 :] if s.kind == "deploy" and s.environment),
        None,
    )


def _env_of(stages: Sequence[StageSpec], index: int) -> Env | None:
    stage = stages[index]
    return stage.environment if stage.kind == "deploy" else _guarded_env(stages, index)


def _lines(stages: Sequence[StageSpec], index: int) -> list[str]:
    """What the placeholder step says: the task, then the gate to enforce."""
    stage = stages[index]
    env = _env_of(stages, index)
    todo = WHAT_TO_DO[stage.kind].format(env=env.slug if env else "the next environment")
    lines = [todo if stage.kind == "manual_approval" else f"TODO: {todo}"]
    if stage.gate:
        lines.append(f"Gate: {stage.gate}")
    return lines


def _default_branch_only(stages: Sequence[StageSpec], index: int) -> bool:
    """Deploys, and everything from the first deploy on (it tests or gates a deployment), run
    for the default branch only, never for a pull request."""
    first = next((i for i, s in enumerate(stages) if s.kind == "deploy"), len(stages))
    return index >= first or stages[index].kind == "manual_approval"


def _header(design: Design, prefix: str) -> list[str]:
    return [
        f"{prefix} Starting CI configuration from the Flightdeck pipeline template",
        f"{prefix} {design.name!r} ({design.slug}), version {design.number}.",
        f"{prefix} Replace each TODO with the real commands and keep the job names:",
        f"{prefix} Flightdeck matches them against the template's stages.",
    ]


def _gitlab_job_ids(stages: Sequence[StageSpec]) -> list[str]:
    ids = [job_id(s.name) for s in stages]
    return [f"{i}-job" if i in GITLAB_RESERVED else i for i in ids]


# --- GitHub Actions --------------------------------------------------------------------------


def github_workflow(design: Design) -> str:
    """A workflow on push and pull request to the default branch; jobs chained with ``needs``;
    from the first deploy on, jobs run on push only; each deploy in its GitHub environment."""
    stages = design.stages
    out = _header(design, "#")
    out += [
        f"name: {_q(design.name)}",
        "",
        '"on":  # quoted: YAML 1.1 readers take a bare on for true',
        "  push:",
        f"    branches: [{_q(design.branch)}]",
        "  pull_request:",
        f"    branches: [{_q(design.branch)}]",
        "",
        "permissions:",
        "  contents: read",
        "",
        "jobs:",
    ]
    ids = [job_id(s.name) for s in stages]
    for index, stage in enumerate(stages):
        out += [f"  {_key(ids[index])}:", f"    name: {_q(stage.name)}"]
        if index:
            out.append(f"    needs: [{_key(ids[index - 1])}]")
        if _default_branch_only(stages, index):
            out.append("    if: github.event_name == 'push'")
        out.append("    runs-on: ubuntu-latest")
        if stage.kind == "deploy" and stage.environment:
            out.append(f"    environment: {_q(stage.environment.slug)}")
        if stage.kind == "manual_approval":
            env = _guarded_env(stages, index)
            gate_env = f"{env.slug if env else 'deploy'}-approval"
            out += [
                f"    # Required reviewers are configured on the GitHub environment {gate_env!r}",
                "    # (Settings > Environments): this job waits until one of them approves.",
                f"    environment: {_q(gate_env)}",
            ]
        out += [
            "    steps:",
            "      - uses: actions/checkout@v4",
            f"      - name: {_q(stage.name)}",
        ]
        out.append("        run: |")
        out += [f"          echo {shlex.quote(line)}" for line in _lines(stages, index)]
    return "\n".join(out) + "\n"


# --- GitLab CI -------------------------------------------------------------------------------


def gitlab_ci(design: Design) -> str:
    """One stage per designed stage, in order, one job in each; from the first deploy on, jobs
    run on the default branch only; a manual approval is a blocking manual job there."""
    stages = design.stages
    ids = _gitlab_job_ids(stages)
    out = _header(design, "#")
    out += ["stages:", *(f"  - {_q(i)}" for i in ids), ""]
    default_branch = "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    for index, stage in enumerate(stages):
        out += [f"{_key(ids[index])}:", f"  stage: {_q(ids[index])}"]
        if stage.kind == "deploy" and stage.environment:
            out += ["  environment:", f"    name: {_q(stage.environment.slug)}"]
        if stage.kind != "manual_approval" and _default_branch_only(stages, index):
            out += ["  rules:", f"    - if: {_q(default_branch)}"]
        if stage.kind == "manual_approval":
            out += [
                "  rules:",
                f"    - if: {_q(default_branch)}",
                "      when: manual",
                "  allow_failure: false",
            ]
        out.append("  script:")
        out += [f"    - {_q('echo ' + shlex.quote(line))}" for line in _lines(stages, index)]
    return "\n".join(out) + "\n"


# --- Jenkins ---------------------------------------------------------------------------------


def _groovy(text: str) -> str:
    """A Groovy single-quoted string (no interpolation)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def jenkinsfile(design: Design) -> str:
    """A declarative pipeline: one stage per designed stage; approvals are ``input`` steps;
    from the first deploy on, stages run on the default branch only."""
    stages = design.stages
    out = _header(design, "//")
    out += ["pipeline {", "    agent any", "    stages {"]
    for index, stage in enumerate(stages):
        out.append(f"        stage({_groovy(stage.name)}) {{")
        if _default_branch_only(stages, index):
            out.append(f"            when {{ branch {_groovy(design.branch)} }}")
        out.append("            steps {")
        if stage.kind == "manual_approval":
            env = _guarded_env(stages, index)
            question = f"Deploy to {env.slug if env else 'the next environment'}?"
            out.append(f"                input message: {_groovy(question)}, ok: 'Approve'")
        out += [f"                echo {_groovy(line)}" for line in _lines(stages, index)]
        out += ["            }", "        }"]
    out += ["    }", "}"]
    return "\n".join(out) + "\n"
