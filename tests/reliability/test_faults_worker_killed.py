"""A worker SIGKILLed in the middle of normalising webhook deliveries loses and duplicates
nothing (issue 10, "Faults"; ECOSYSTEM.md C7 row 5). The kill mid-sync is
tests/pipelines/test_worker_killed.py; 50 kills in a row of both kinds are in
tests/soak/test_worker_kills.py.

The pool process is killed while its batch's claim is uncommitted (an out-of-memory kill):
Postgres rolls the claim back, the worker's main process gives the task back to the broker
(``task_reject_on_worker_lost``) and its fresh pool process normalises the batch again.
"""

from __future__ import annotations

import random

import pytest

from pipelines.models import JobRun, PipelineRun, RawEvent
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    celery_processes,
    duplicate_records,
    encryption_key,
    gitlab_source,
    kill_mid_normalisation,
    pipeline_hooks_stored,
)

pytestmark = pytest.mark.slow

DELIVERIES, BATCH = 2000, 500  # four tasks; one takes long enough to be killed inside
JOBS_PER_DELIVERY = 5  # the recorded pipeline hook's builds


def test_a_worker_killed_mid_normalisation_loses_and_duplicates_nothing(
    transactional_db,
    celery_processes,  # noqa: F811
):
    source = gitlab_source(base_url="http://127.0.0.1:9/", webhook_secret="s3cret")
    ids = pipeline_hooks_stored(source, DELIVERIES)
    worker = celery_processes.worker()

    outcome = kill_mid_normalisation(
        celery_processes,
        worker,
        source,
        ids,
        batch=BATCH,
        rng=random.Random(),  # noqa: S311 (a kill moment)
    )

    events = RawEvent.objects.filter(source=source)
    duplicates = duplicate_records(source)
    print(
        f"\nkilled mid-normalisation with {outcome.left_at_kill}/{DELIVERIES} deliveries "
        f"pending; the killed batch done again {outcome.redelivered_after:.1f} s later; "
        f"{PipelineRun.objects.filter(source=source).count()} pipelines, {duplicates} duplicates"
    )
    assert 0 < outcome.left_at_kill <= DELIVERIES
    assert set(events.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
    # Each delivery's claim was committed exactly once: the killed claim was rolled back.
    assert set(events.values_list("attempts", flat=True)) == {1}
    assert PipelineRun.objects.filter(source=source).count() == DELIVERIES
    assert JobRun.objects.filter(source=source).count() == DELIVERIES * JOBS_PER_DELIVERY
    assert duplicates == 0
    assert worker.process.poll() is None, "the worker itself survived its pool process"
