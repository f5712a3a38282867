"""Fixtures for the pipeline-template tests: the promotion path, a standard template, and a way
to record runs, jobs and deployments by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from pipelines.models import Deployment, JobRun, PipelineRun
from pipelines.services import push_source
from pipelines.templates import services
from portal.models import Environment
from tests.factories import EnvironmentFactory

# A typical service template: build, test, scan, staging, a performance check, approval, prod.
STANDARD = [
    {"name": "Build", "kind": "build"},
    {"name": "Unit tests", "kind": "unit_test", "gate": "coverage >= 80%"},
    {"name": "SAST", "kind": "static_analysis", "gate": "critical_vulnerabilities == 0"},
    {"name": "Container scan", "kind": "container_scan", "gate": "critical_vulnerabilities == 0"},
    {"name": "Deploy staging", "kind": "deploy", "environment": "staging"},
    {"name": "Load test", "kind": "performance_test", "gate": "p95_latency_delta <= 10%"},
    {"name": "Approve production", "kind": "manual_approval"},
    {"name": "Deploy production", "kind": "deploy", "environment": "production"},
]


@dataclass
class Path:
    dev: Environment
    staging: Environment
    production: Environment


@pytest.fixture
def envs(db) -> Path:
    """dev (10) -> staging (20) -> production (30)."""
    return Path(
        dev=EnvironmentFactory(name="dev", slug="dev", position=10),
        staging=EnvironmentFactory(name="staging", slug="staging", position=20),
        production=EnvironmentFactory(
            name="production", slug="production", position=30, is_production=True
        ),
    )


@pytest.fixture
def standard(org, envs):
    """The standard template, version 1, owned by checkout."""
    return services.template_create(
        actor=org.users["lee"],
        name="Standard service",
        description="Build, test, scan, staging, approval, production.",
        owner_team=org.checkout,
        stages=STANDARD,
    )


class Recorder:
    """Hand-made delivery records: ``run(service, jobs=[...])`` and ``deploy(...)``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.source = push_source()
        self.count = 0

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def run(self, service, jobs, *, days_ago: float = 1, sha: str = "") -> PipelineRun:
        """A run ``days_ago`` with one job per entry: a name, or (name, CI stage)."""
        created = self.now - timedelta(days=days_ago)
        run = PipelineRun.objects.create(
            source=self.source, external_id=self._id("R"), service=service, name="ci",
            status="success", created_at=created, sha=sha or f"sha{self.count}", branch="main",
        )  # fmt: skip
        for job in jobs:
            name, stage = (job, "") if isinstance(job, str) else job
            JobRun.objects.create(
                source=self.source, external_id=self._id("J"), run=run,
                run_external_id=run.external_id, name=name, stage=stage, status="success",
                created_at=created,
            )  # fmt: skip
        return run

    def deploy(self, service, environment, *, run=None, days_ago: float = 1, external_id=""):
        return Deployment.objects.create(
            source=self.source, service=service, environment=environment,
            external_id=external_id or self._id("D"), status="success", run=run,
            sha=run.sha if run else "", finished_at=self.now - timedelta(days=days_ago),
        )  # fmt: skip


@pytest.fixture
def record(db) -> Recorder:
    return Recorder(timezone.now())
