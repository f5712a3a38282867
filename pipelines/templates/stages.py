"""The rules a version's ordered stages follow, and how a stage is recognised in real runs.

Pure: works on ``StageSpec`` values (no ORM), so the service, the form and the tests share it.

Rules (each broken one is a ``Problem`` naming the stage it is about):

1. At least one stage.
2. Every stage has a name whose job id (``job_id``) is not blank and not another stage's.
3. The kind is one of ``KINDS``.
4. The gate parses (``gates.parse_gate``).
5. Deploy stages name an environment; other stages do not.
6. No deploy before the first test stage (unit or integration test).
7. Deploys follow the promotion path: each deploy's environment comes after the previous
   deploy's environment (``Environment.position``), so production never precedes staging.
8. A manual approval guards a deploy: some deploy stage comes after it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from pipelines.templates.gates import GateError, parse_gate

KINDS = {
    "build": "Build",
    "unit_test": "Unit test",
    "integration_test": "Integration test",
    "static_analysis": "Static analysis / SAST",
    "dependency_scan": "Dependency scan",
    "container_scan": "Container scan",
    "performance_test": "Performance test",
    "deploy": "Deploy to an environment",
    "manual_approval": "Manual approval",
}  # the values of pipelines.models.templates.StageKind, which the models use
TEST_KINDS = frozenset({"unit_test", "integration_test"})
# The stages a deployment must have passed: tests, scans and approvals (not build or deploy).
GATE_KINDS = frozenset(KINDS) - {"build", "deploy"}

# The job or stage names that usually show a stage of each kind ran (shell patterns, any case).
DEFAULT_MATCH = {
    "build": "*build*|*compile*",
    "unit_test": "*unit*|*test*",
    "integration_test": "*integration*|*e2e*",
    "static_analysis": "*sast*|*lint*|*sonar*|*codeql*|*static*",
    "dependency_scan": "*dependency*|*audit*|*snyk*|*dependabot*",
    "container_scan": "*trivy*|*container*scan*|*image*scan*|*grype*",
    "performance_test": "*perf*|*load*|*k6*|*gatling*",
    "deploy": "*deploy*",
    "manual_approval": "*approv*|*gate*",
}

NAME_MAX, GATE_MAX, MATCH_MAX = 100, 300, 300  # the columns of TemplateStage
NEEDS_ENVIRONMENT = "a deploy stage needs an environment."


@dataclass(frozen=True)
class Env:
    """What the rules need of an environment."""

    slug: str
    name: str
    position: int
    is_production: bool = False


@dataclass(frozen=True)
class StageSpec:
    name: str
    kind: str
    gate: str = ""
    environment: Env | None = None
    match: str = ""


@dataclass(frozen=True)
class Problem:
    """A broken rule: ``index`` is the stage's (from 0), None for the list as a whole."""

    index: int | None
    message: str


def spec_of(stage) -> StageSpec:
    """The spec of a stored stage (a ``TemplateStage``, its environment selected)."""
    env = stage.environment
    return StageSpec(
        name=stage.name,
        kind=stage.kind,
        gate=stage.gate,
        match=stage.match,
        environment=None
        if env is None
        else Env(env.slug, env.name, env.position, env.is_production),
    )


def job_id(name: str) -> str:
    """The id of the stage's job in generated CI files (and a name its runs may carry):
    lowercase letters, digits and hyphens, starting with a letter."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if slug and not slug[0].isalpha():
        slug = f"stage-{slug}"
    return slug


def patterns(stage: StageSpec) -> list[str]:
    """The lowercase shell patterns that show ``stage`` ran: its own ``match`` (else the kind's
    usual names), plus its name and job id exactly, so jobs of a generated file always match."""
    given = [
        p.strip().lower() for p in (stage.match or DEFAULT_MATCH.get(stage.kind, "")).split("|")
    ]
    own = [stage.name.strip().lower(), job_id(stage.name)]
    return list(dict.fromkeys(p for p in [*given, *own] if p))


def matches(stage_patterns: Sequence[str], *names: str) -> bool:
    """Whether any of ``names`` (a job's name, its stage) fits one of the patterns."""
    lowered = [name.lower() for name in names if name]
    return any(fnmatchcase(name, pattern) for pattern in stage_patterns for name in lowered)


def stage_problems(stages: Sequence[StageSpec]) -> list[Problem]:
    """Every rule the ordered ``stages`` break (empty when they are a valid version)."""
    if not stages:
        return [Problem(None, "A template needs at least one stage.")]
    problems = [p for index, stage in enumerate(stages) for p in _own_problems(index, stage)]
    problems += _duplicate_problems(stages)
    problems += _order_problems(stages)
    return sorted(problems, key=lambda p: -1 if p.index is None else p.index)


def _own_problems(index: int, stage: StageSpec) -> list[Problem]:
    found = []

    def problem(message: str) -> None:
        found.append(Problem(index, message))

    if not stage.name.strip():
        problem("give the stage a name.")
    elif not job_id(stage.name):
        problem("the name needs a letter or digit.")
    elif len(stage.name) > NAME_MAX:
        problem(f"the name is longer than {NAME_MAX} characters.")
    if any(ch in stage.name for ch in "\r\n\t|") or not stage.name.isprintable():
        problem("the name has a line break, a tab, a | or another control character.")
    if stage.kind not in KINDS:
        problem(f"unknown kind “{stage.kind}”; one of {', '.join(KINDS)}.")
    if len(stage.gate) > GATE_MAX:
        problem(f"the gate is longer than {GATE_MAX} characters.")
    else:
        try:
            parse_gate(stage.gate)
        except GateError as error:
            problem(f"the gate does not parse: {error.message} at column {error.column}.")
    if len(stage.match) > MATCH_MAX:
        problem(f"the match patterns are longer than {MATCH_MAX} characters.")
    if stage.kind == "deploy" and stage.environment is None:
        problem(NEEDS_ENVIRONMENT)
    if stage.kind != "deploy" and stage.environment is not None:
        problem("only deploy stages have an environment.")
    return found


def _duplicate_problems(stages: Sequence[StageSpec]) -> list[Problem]:
    seen: dict[str, int] = {}
    found = []
    for index, stage in enumerate(stages):
        key = job_id(stage.name)
        if not key:
            continue
        if key in seen:
            found.append(
                Problem(
                    index,
                    f"the name repeats stage {seen[key] + 1} (“{stages[seen[key]].name}”).",
                )
            )
        else:
            seen[key] = index
    return found


def _order_problems(stages: Sequence[StageSpec]) -> list[Problem]:
    found = []
    tested = False
    previous: Env | None = None
    for index, stage in enumerate(stages):
        if stage.kind in TEST_KINDS:
            tested = True
        if stage.kind != "deploy" or stage.environment is None:
            continue
        env = stage.environment
        if not tested:
            found.append(Problem(index, f"deploys to {env.name} before any test stage."))
        if previous is not None and env.position < previous.position:
            found.append(
                Problem(
                    index,
                    f"deploys to {env.name} after {previous.name}: the promotion path runs "
                    f"{env.name} before {previous.name}.",
                )
            )
        previous = env
    for index, stage in enumerate(stages):
        if stage.kind == "manual_approval" and not any(
            later.kind == "deploy" for later in stages[index + 1 :]
        ):
            found.append(Problem(index, "a manual approval must come before the deploy it guards."))
    return found


def guarding_stages(stages: Sequence[StageSpec], environment_slug: str) -> list[int]:
    """Indexes of the gate stages (tests, scans, approvals) a deployment to the environment
    must have passed: those before the design's deploy to it (else before its first production
    deploy, else all of them)."""
    target = next(
        (
            i
            for i, s in enumerate(stages)
            if s.kind == "deploy" and s.environment and s.environment.slug == environment_slug
        ),
        None,
    )
    if target is None:
        target = next(
            (
                i
                for i, s in enumerate(stages)
                if s.kind == "deploy" and s.environment and s.environment.is_production
            ),
            len(stages),
        )
    return [i for i, s in enumerate(stages[:target]) if s.kind in GATE_KINDS]


def describe(
    problem: Problem,
    stages: Sequence[StageSpec],
    *,
    unit: str = "Stage",
    numbers: Sequence[int] | None = None,
) -> str:
    """A problem in words, e.g. ``Stage 3 (Deploy production): deploys to ... .``; ``unit`` and
    ``numbers`` say what to call the stage at each index (a form says "Line" and its line)."""
    if problem.index is None:
        return problem.message
    number = numbers[problem.index] if numbers is not None else problem.index + 1
    name = stages[problem.index].name.strip()
    return f"{unit} {number}" + (f" ({name})" if name else "") + f": {problem.message}"
