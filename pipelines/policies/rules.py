"""The rules of lifecycle policies as pure functions: plain rows in, a verdict with evidence out.

No ORM, no Django (like reporting.metrics): pipelines.policies.evaluation loads the rows.

A rule checks one service over its window: the ``window_days`` UTC days ending with the day
evaluated (``Window``). The *deployments* a deployment rule looks at are the service's
successful production deployments (environment marked production, status success) finished in
the window. Each failing item becomes one evidence entry (a dict with ``what`` in words plus
the deployment and run it is about); the verdict fails if there is any.

- ``prod_from_default_branch`` (``also_allowed``: branch patterns, []): each deployment from
  another branch.
- ``security_scan_on_deployed_commit`` (``patterns``, params.SCAN_PATTERNS): each deployment whose
  commit no scan job ran on.
- ``approval_for_tier`` (``max_tier``, 1; ``patterns``, params.APPROVAL_PATTERNS): each deployment
  whose run has no passed approval job.
- ``default_branch_red_hours`` (``hours``, 24): each red spell of the default branch longer
  than ``hours``.
- ``deployment_carries_changes`` (no params): each deployment with no linked change.

With no deployment in the window the deployment rules are ``not_applicable``; so is the red
rule without any default-branch run to judge, and approval_for_tier for services of a tier
above ``max_tier``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pipelines.policies.params import (
    ApprovalForTierParams,
    DefaultBranchRedParams,
    NoParams,
    Params,
    ProdFromDefaultBranchParams,
    SecurityScanParams,
    matches,
    split_patterns,
)

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not_applicable"
# The evidence kept per verdict (``failing`` still counts them all): a service deploying from a
# feature branch every hour for a month must not write a megabyte of JSON a day.
MAX_EVIDENCE = 50
# A job "ran" when it finished either way: a scan that failed still ran (whether its findings
# block the deployment is the pipeline's gate, which pipeline templates check).
RAN = frozenset({"success", "failure"})
DECIDED = frozenset({"success", "failure"})  # default-branch runs that say green or red
SHA = re.compile(r"[0-9a-f]{7,64}")


# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    name: str
    stage: str = ""
    status: str = "success"


@dataclass(frozen=True)
class Run:
    id: int
    name: str = ""
    branch: str = ""
    sha: str = ""
    status: str = "success"
    created_at: datetime | None = None
    finished_at: datetime | None = None
    url: str = ""
    jobs: tuple[Job, ...] = ()

    @property
    def moment(self) -> datetime | None:
        """When the run said green or red: its end (its creation if the end is not known)."""
        return self.finished_at or self.created_at


@dataclass(frozen=True)
class Deployment:
    id: int
    finished_at: datetime
    external_id: str = ""
    environment: str = "production"
    sha: str = ""
    ref: str = ""
    url: str = ""
    run: Run | None = None
    change_count: int = 0


@dataclass(frozen=True)
class ServiceFacts:
    """What the rules know of one service. Only the parts a rule's kind needs are loaded."""

    service_id: int
    tier: int = 2
    default_branch: str = "main"
    deployments: tuple[Deployment, ...] = ()  # production, successful, in the window
    runs_by_sha: Mapping[str, tuple[Run, ...]] = field(default_factory=dict)  # deployed shas
    # Decided default-branch runs created in the window, plus the last one created before it
    # (a spell that began earlier is measured from its start).
    branch_runs: tuple[Run, ...] = ()


@dataclass(frozen=True)
class Window:
    """[begins, ends): the rule's days; ``now`` (<= ends) ends a spell that is still red."""

    begins: datetime
    ends: datetime
    now: datetime


@dataclass(frozen=True)
class Verdict:
    outcome: str
    checked: int = 0
    failing: int = 0
    evidence: list[dict] = field(default_factory=list)


def _verdict(checked: int, failures: list[dict]) -> Verdict:
    return Verdict(
        outcome=FAIL if failures else PASS,
        checked=checked,
        failing=len(failures),
        evidence=failures[:MAX_EVIDENCE],
    )


# --- evidence ----------------------------------------------------------------------------------


def _run_ref(run: Run | None) -> dict | None:
    if run is None:
        return None
    return {"id": run.id, "name": run.name, "branch": run.branch, "sha": run.sha, "url": run.url}


def _deployment_item(deployment: Deployment, what: str) -> dict:
    return {
        "what": what,
        "deployment": {
            "id": deployment.id,
            "external_id": deployment.external_id,
            "environment": deployment.environment,
            "sha": deployment.sha,
            "ref": deployment.ref,
            "finished_at": deployment.finished_at.isoformat(),
            "url": deployment.url,
        },
        "run": _run_ref(deployment.run),
    }


def _newest_first(deployments: Sequence[Deployment]) -> list[Deployment]:
    return sorted(deployments, key=lambda d: (d.finished_at, d.id), reverse=True)


def _short(sha: str) -> str:
    return sha[:10]


# --- the rules ---------------------------------------------------------------------------------


def _branch_name(ref: str) -> str:
    return ref.strip().removeprefix("refs/heads/")


def deployed_branch(deployment: Deployment) -> str:
    """The branch a deployment came from: its ref (``refs/heads/`` dropped) unless that is
    empty or a commit, else its run's branch; "" when neither says."""
    ref = _branch_name(deployment.ref)
    if not ref or ref == deployment.sha or SHA.fullmatch(ref):
        ref = _branch_name(deployment.run.branch) if deployment.run else ""
    return ref


def check_prod_from_default_branch(
    params: ProdFromDefaultBranchParams, facts: ServiceFacts, window: Window
) -> Verdict:
    """Each production deployment comes from the service's default branch, or from a branch
    matching one of ``also_allowed`` (shell-style, case-sensitive, e.g. ``release/*``).

    Evidence: each deployment from another branch, or whose branch is not known (no ref and
    no linked run: compliance must be shown, not assumed)."""
    if not facts.deployments:
        return Verdict(NOT_APPLICABLE)
    failures = []
    for deployment in _newest_first(facts.deployments):
        branch = deployed_branch(deployment)
        if not branch:
            failures.append(_deployment_item(deployment, "branch not known (no ref, no run)"))
        elif branch != facts.default_branch and not any(
            fnmatch.fnmatchcase(branch, pattern) for pattern in params.also_allowed
        ):
            failures.append(
                _deployment_item(
                    deployment,
                    f"deployed from {branch}, not {facts.default_branch}",
                )
            )
    return _verdict(len(facts.deployments), failures)


def check_security_scan_on_deployed_commit(
    params: SecurityScanParams, facts: ServiceFacts, window: Window
) -> Verdict:
    """A security scan ran on each deployed commit: some run of the service on the deployed sha
    (any branch, any time; the deployment's own run included) has a job whose name or stage
    matches ``patterns`` and that ran (finished as success or failure).

    Evidence: each deployment without one (or whose commit is not known)."""
    if not facts.deployments:
        return Verdict(NOT_APPLICABLE)
    patterns = split_patterns(params.patterns)
    failures = []
    for deployment in _newest_first(facts.deployments):
        if not deployment.sha:
            failures.append(_deployment_item(deployment, "deployed commit not known"))
            continue
        runs = list(facts.runs_by_sha.get(deployment.sha, ()))
        if deployment.run is not None:
            runs.append(deployment.run)
        scanned = any(
            job.status in RAN and (matches(job.name, patterns) or matches(job.stage, patterns))
            for run in runs
            for job in run.jobs
        )
        if not scanned:
            failures.append(
                _deployment_item(deployment, f"no security scan ran on {_short(deployment.sha)}")
            )
    return _verdict(len(facts.deployments), failures)


def check_approval_for_tier(
    params: ApprovalForTierParams, facts: ServiceFacts, window: Window
) -> Verdict:
    """Services of tier ``max_tier`` or more critical (tier 1 is the most critical) deploy to
    production through an approval: the deployment's run has a job whose name or stage matches
    ``patterns`` and that passed (status success). Other tiers: not applicable.

    Evidence: each deployment whose run has no passed approval job, or that has no linked run
    (the approval cannot be seen)."""
    if facts.tier > params.max_tier or not facts.deployments:
        return Verdict(NOT_APPLICABLE)
    patterns = split_patterns(params.patterns)
    failures = []
    for deployment in _newest_first(facts.deployments):
        run = deployment.run
        if run is None:
            failures.append(_deployment_item(deployment, "no pipeline run linked: no approval"))
        elif not any(
            job.status == "success"
            and (matches(job.name, patterns) or matches(job.stage, patterns))
            for job in run.jobs
        ):
            failures.append(_deployment_item(deployment, f"no approval job passed in {run.name}"))
    return _verdict(len(facts.deployments), failures)


@dataclass(frozen=True)
class RedSpell:
    red_from: datetime
    green_at: datetime | None  # None: still red
    failed_run: Run

    def hours(self, now: datetime) -> float:
        return ((self.green_at or now) - self.red_from).total_seconds() / 3600


def red_spells_of(runs: Sequence[Run]) -> list[RedSpell]:
    """The spells of one branch, in time order: from a failed run to the next successful one.

    As reporting.metrics.health.red_spells: runs are ordered by when they said green or red
    (``finished_at``, else ``created_at``; ties by id), and only decided runs count."""
    ordered = sorted(
        (run for run in runs if run.status in DECIDED and run.moment is not None),
        key=lambda run: (run.moment, run.id),
    )
    spells, first_failure = [], None
    for run in ordered:
        if run.status == "failure" and first_failure is None:
            first_failure = run
        elif run.status == "success" and first_failure is not None:
            spells.append(RedSpell(first_failure.moment, run.moment, first_failure))
            first_failure = None
    if first_failure is not None:
        spells.append(RedSpell(first_failure.moment, None, first_failure))
    return spells


def check_default_branch_red_hours(
    params: DefaultBranchRedParams, facts: ServiceFacts, window: Window
) -> Verdict:
    """The default branch was never red for longer than ``hours`` in the window. A spell runs
    from the first failed run to the next successful run (``red_spells_of``); a spell counts if
    any part of it is in the window, with its whole length (a spell still red runs to now).

    Checked: the decided default-branch runs that said green or red in the window; not
    applicable with none and no spell reaching into the window.
    Evidence: each spell over the limit (from, to or "still red", hours, the failing run)."""
    in_window = [
        run
        for run in facts.branch_runs
        if run.status in DECIDED and run.moment and window.begins <= run.moment < window.ends
    ]
    spells = [
        spell
        for spell in red_spells_of(facts.branch_runs)
        if spell.red_from < window.ends
        and (spell.green_at is None or spell.green_at > window.begins)
    ]
    if not in_window and not spells:
        return Verdict(NOT_APPLICABLE)
    failures = []
    for spell in reversed(spells):
        hours = spell.hours(window.now)
        if hours > params.hours:
            failures.append(
                {
                    "what": f"red for {hours:.1f} h (limit {params.hours:g} h)",
                    "from": spell.red_from.isoformat(),
                    "to": spell.green_at.isoformat() if spell.green_at else "still red",
                    "hours": round(hours, 1),
                    "run": _run_ref(spell.failed_run),
                }
            )
    return _verdict(len(in_window), failures)


def check_deployment_carries_changes(
    params: NoParams, facts: ServiceFacts, window: Window
) -> Verdict:
    """Each production deployment carries its changes: at least one Change (commit) is linked
    to it, so lead time and change requests can be traced to production.

    Evidence: each deployment with no linked change."""
    if not facts.deployments:
        return Verdict(NOT_APPLICABLE)
    failures = [
        _deployment_item(deployment, "carries no linked change")
        for deployment in _newest_first(facts.deployments)
        if deployment.change_count < 1
    ]
    return _verdict(len(facts.deployments), failures)


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    params: type[Params]
    check: Callable[[Params, ServiceFacts, Window], Verdict]
    needs: frozenset[str]  # the facts to load: deployments, runs_by_sha, branch_runs


KINDS: dict[str, Kind] = {
    "prod_from_default_branch": Kind(
        ProdFromDefaultBranchParams, check_prod_from_default_branch, frozenset({"deployments"})
    ),
    "security_scan_on_deployed_commit": Kind(
        SecurityScanParams,
        check_security_scan_on_deployed_commit,
        frozenset({"deployments", "runs_by_sha"}),
    ),
    "approval_for_tier": Kind(
        ApprovalForTierParams, check_approval_for_tier, frozenset({"deployments"})
    ),
    "default_branch_red_hours": Kind(
        DefaultBranchRedParams, check_default_branch_red_hours, frozenset({"branch_runs"})
    ),
    "deployment_carries_changes": Kind(
        NoParams, check_deployment_carries_changes, frozenset({"deployments"})
    ),
}


def evaluate(kind: str, params: dict, facts: ServiceFacts, window: Window) -> Verdict:
    """The verdict of a rule of ``kind`` with its (stored, validated) ``params``."""
    spec = KINDS[kind]
    return spec.check(spec.params.model_validate(params), facts, window)
