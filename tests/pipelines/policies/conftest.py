"""Hand-made delivery data for the policy tests: a clock frozen at NOW (a Monday noon, UTC),
production and staging, and a ``delivery`` helper writing runs, jobs and deployments.

Cart API (checkout, tier 1 by default here) is the service most tests check; ``policy`` is a
policy with one rule of each kind (defaults: 30-day windows, 24 hours of red).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import time_machine
from django.utils import timezone

from pipelines.models import Change, Deployment, JobRun, PipelineRun
from pipelines.policies import services
from pipelines.services import push_source
from portal.models import Environment

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
RULE_KINDS = [
    "prod_from_default_branch",
    "security_scan_on_deployed_commit",
    "approval_for_tier",
    "default_branch_red_hours",
    "deployment_carries_changes",
]


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def production(db):
    return Environment.objects.create(
        name="production", slug="production", position=30, is_production=True
    )


@pytest.fixture
def staging(db):
    return Environment.objects.create(name="staging", slug="staging", position=20)


class Delivery:
    """Writes delivery records as a CI source would have (the push source owns them)."""

    def __init__(self, production) -> None:
        self.production = production
        self.source = push_source()
        self.ids = count(1)

    def run(
        self,
        service,
        *,
        branch: str = "main",
        sha: str = "",
        status: str = "success",
        at: datetime | None = None,
        jobs=(),
        name: str = "",
    ) -> PipelineRun:
        """A run finished at ``at`` (created 10 minutes before), with ``jobs``: names or
        (name, stage, status) triples."""
        n = next(self.ids)
        at = at or timezone.now() - timedelta(hours=1)  # NOW when frozen
        run = PipelineRun.objects.create(
            source=self.source,
            external_id=f"run-{n}",
            service=service,
            name=name or f"ci #{n}",
            branch=branch,
            sha=sha or f"{n:040x}",
            status=status,
            created_at=at - timedelta(minutes=10),
            started_at=at - timedelta(minutes=9),
            finished_at=at,
            url=f"https://ci.example.test/runs/{n}",
        )
        for job in jobs:
            name_, stage, job_status = (job, "", "success") if isinstance(job, str) else job
            JobRun.objects.create(
                source=self.source,
                external_id=f"job-{next(self.ids)}",
                run=run,
                run_external_id=run.external_id,
                name=name_,
                stage=stage,
                status=job_status,
            )
        return run

    def deploy(
        self,
        service,
        *,
        run: PipelineRun | None = None,
        sha: str | None = None,
        ref: str = "",
        at: datetime | None = None,
        environment=None,
        status: str = "success",
        changes: int = 1,
    ) -> Deployment:
        """A deployment of ``run``'s commit (or ``sha``) finished at ``at``, carrying
        ``changes`` linked changes."""
        n = next(self.ids)
        at = at or timezone.now() - timedelta(hours=1)
        deployment = Deployment.objects.create(
            source=self.source,
            external_id=f"deploy-{n}",
            service=service,
            environment=environment or self.production,
            sha=run.sha if sha is None and run else (sha or ""),
            ref=ref,
            run=run,
            status=status,
            finished_at=at,
            url=f"https://ci.example.test/deployments/{n}",
        )
        for c in range(changes):
            change = Change.objects.create(
                service=service,
                sha=f"{n:020x}{c:020x}",
                committed_at=at - timedelta(hours=5),
                title=f"change {c} of deployment {n}",
            )
            deployment.changes.add(change)
        return deployment


@pytest.fixture
def delivery(production) -> Delivery:
    return Delivery(production)


@pytest.fixture
def tier1(service):
    service.tier = 1
    service.save(update_fields=["tier"])
    return service


@pytest.fixture
def policy(org):
    """ "Safe delivery": one rule of each kind, keys named after the kinds."""
    return services.policy_create(
        actor=org.users["lee"],
        name="Safe delivery",
        text="Production deployments are traceable, scanned and approved.",
        rules=[{"kind": kind, "key": kind.replace("_", "-")} for kind in RULE_KINDS],
    )


def rule_of(policy, kind: str):
    return policy.rules.get(kind=kind)


@pytest.fixture
def results(org, policy, service):
    """Hand-placed results (rules r1..r5 = the policy's rules in RULE_KINDS order):

    | service (team)          | r1   | r2   | r3     | r4  | r5   | compliant / applicable |
    | cart-api (checkout)     | pass | fail | waived | n/a | pass | 3 / 4 = 75 %           |
    | checkout-web (checkout) | fail*| fail | n/a    | n/a | pass | 1 / 3 = 33.3 %         |
    | app-api (mobile)        | pass | pass | pass   | pass| pass | 5 / 5 = 100 %          |

    * from yesterday (its latest). Yesterday also has cart-api r2 = pass, replaced today.
    checkout: 4 / 7 = 57.1 %; the organisation: 9 / 12 = 75 %.
    """
    from pipelines.models import RuleResult, Waiver
    from tests.factories import ServiceFactory

    web = ServiceFactory(team=org.checkout, name="Checkout web", slug="checkout-web")
    app = ServiceFactory(team=org.mobile, name="App API", slug="app-api")
    r = [rule_of(policy, kind) for kind in RULE_KINDS]
    waiver = Waiver.objects.create(
        rule=r[2], service=service, reason="Migrating scanners", status="granted",
        expires_on=TODAY + timedelta(days=10), requested_by=org.users["mo"],
        decided_by=org.users["lee"],
    )  # fmt: skip
    yesterday = TODAY - timedelta(days=1)
    rows = [
        (service, r[0], TODAY, "pass"), (service, r[1], TODAY, "fail"),
        (service, r[2], TODAY, "waived"), (service, r[3], TODAY, "not_applicable"),
        (service, r[4], TODAY, "pass"), (service, r[1], yesterday, "pass"),
        (web, r[0], yesterday, "fail"), (web, r[1], TODAY, "fail"),
        (web, r[2], TODAY, "not_applicable"), (web, r[3], TODAY, "not_applicable"),
        (web, r[4], TODAY, "pass"),
        *((app, rule, TODAY, "pass") for rule in r),
    ]  # fmt: skip
    for svc, rule, day, outcome in rows:
        RuleResult.objects.create(
            rule=rule, service=svc, day=day, outcome=outcome,
            checked=1, failing=int(outcome in ("fail", "waived")),
            evidence=[{"what": "deployed from feature/x, not main"}] if outcome == "fail" else [],
            waiver=waiver if outcome == "waived" else None,
        )  # fmt: skip
    return {"web": web, "app": app, "rules": r, "waiver": waiver}
