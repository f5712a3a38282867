"""50 worker kills in a row lose and duplicate nothing (issue 10, "Faults"; ECOSYSTEM.md C7
row 5). ``make soak``; SOAK_KILLS sets the count (default 50).

Trials alternate. Even ones kill the whole worker (main process and pool, as a host crash
would) at a random request of a sync and start a fresh worker, to which Redis restores the
unacknowledged task after the visibility timeout. Odd ones kill only the pool process (as the
out-of-memory killer would) at a random moment of normalising a batch of webhook deliveries;
the worker gives the task back and its fresh pool process redoes the batch. After each trial:
every record exactly once. The CI versions are tests/pipelines/test_worker_killed.py and
tests/reliability/test_faults_worker_killed.py.
"""

from __future__ import annotations

import os
import random
import re
import statistics

import pytest

from pipelines import services
from pipelines.models import CISource, JobRun, PipelineRun, RawEvent, SyncRun
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    broker_idle,
    celery_processes,
    duplicate_records,
    encryption_key,
    gitlab_bodies,
    gitlab_handler,
    kill_mid_normalisation,
    kill_mid_sync,
    pipeline_hooks_stored,
)

pytestmark = pytest.mark.soak

KILLS = int(os.environ.get("SOAK_KILLS", "50"))
PIPELINES, JOBS_PER_PIPELINE = 12, 50  # 612 items: a batch of 500 lands mid-sync
REQUEST_SECONDS = 0.05
# A sync makes 29 requests (the list, each pipeline and its jobs, 4 more lists): kill it after
# a random number of them, with some always left, so the kill lands mid-sync.
SYNC_REQUESTS = 1 + 2 * PIPELINES + 4
DELIVERIES, BATCH = 1000, 500  # per normalisation trial: two tasks
JOBS_PER_DELIVERY = 5  # the recorded pipeline hook's builds


def _exactly_once(source, *, pipelines: int, jobs: int) -> bool:
    events = RawEvent.objects.filter(source=source)
    return (
        PipelineRun.objects.filter(source=source).count() == pipelines
        and JobRun.objects.filter(source=source).count() == jobs
        and set(events.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
        and duplicate_records(source) == 0
    )


def test_workers_killed_again_and_again_lose_and_duplicate_nothing(
    transactional_db,
    httpserver,
    celery_processes,  # noqa: F811
):
    served: list[tuple[float, str]] = []
    handler = gitlab_handler(
        gitlab_bodies(PIPELINES, JOBS_PER_PIPELINE), delay=REQUEST_SECONDS, served=served
    )
    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(handler)
    service = ServiceFactory(team=TeamFactory(), slug="cart-api")
    rng = random.Random()  # noqa: S311 (kill moments)
    worker = celery_processes.worker()
    complete, duplicates, redelivery = 0, 0, {"sync": [], "normalisation": []}

    for trial in range(KILLS):
        source = services.source_create(
            actor=UserFactory(),
            kind=CISource.Kind.GITLAB,
            name=f"GitLab {trial}",
            base_url=httpserver.url_for("/api/v4/"),
            token="glpat-test",
            webhook_secret="s3cret",
            repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
        )
        if trial % 2 == 0:
            after_requests = rng.randint(1, SYNC_REQUESTS - 3)
            worker, outcome = kill_mid_sync(
                celery_processes, worker, source, served, after_requests=after_requests
            )
            redelivery["sync"].append(outcome.redelivered_after)
            done = SyncRun.objects.get(source=source).status == SyncRun.Status.SUCCESS
            pipelines, jobs = PIPELINES, PIPELINES * JOBS_PER_PIPELINE
        else:
            ids = pipeline_hooks_stored(source, DELIVERIES, first_id=100_000 * (trial + 1))
            outcome = kill_mid_normalisation(
                celery_processes, worker, source, ids, batch=BATCH, rng=rng
            )
            redelivery["normalisation"].append(outcome.redelivered_after)
            attempts = set(
                RawEvent.objects.filter(source=source).values_list("attempts", flat=True)
            )
            done = attempts == {1}  # each claim committed once; the killed one rolled back
            pipelines, jobs = DELIVERIES, DELIVERIES * JOBS_PER_DELIVERY
        complete += done and _exactly_once(source, pipelines=pipelines, jobs=jobs)
        duplicates += duplicate_records(source)
        celery_processes.wait(broker_idle, "nothing of this trial is left in the broker")

    times = redelivery["sync"] + redelivery["normalisation"]
    print(
        f"\n{complete}/{KILLS} complete, {duplicates} duplicates, redelivery p50/max "
        f"{statistics.median(times):.1f}/{max(times):.1f} s (whole worker mid-sync: "
        f"{statistics.median(redelivery['sync']):.1f}/{max(redelivery['sync']):.1f} s; pool "
        f"process mid-normalisation: {statistics.median(redelivery['normalisation']):.1f}/"
        f"{max(redelivery['normalisation']):.1f} s)"
    )
    assert complete == KILLS
    assert duplicates == 0
    assert max(times) < 60  # C7 row 5
