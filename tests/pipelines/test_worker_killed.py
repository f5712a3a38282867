"""A Celery worker SIGKILLed mid-sync loses and duplicates nothing (issue 3): late acks plus the
Redis unacked-restore sweep deliver the task again to a fresh worker, which finishes the same
SyncRun, and the idempotent store keeps every pipeline and job exactly once."""

from __future__ import annotations

import re
import time

import pytest
import redis
from django.conf import settings
from django.db import transaction

from pipelines import services
from pipelines.models import JobRun, PipelineRun, RawEvent, SyncRun
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_API,
    GITLAB_PROJECT,
    celery_processes,
    encryption_key,
    gitlab_bodies,
    gitlab_handler,
    gitlab_source,
)

pytestmark = pytest.mark.slow

PIPELINES, JOBS_PER_PIPELINE = 30, 50  # 1,530 items: the first 500-item batch lands mid-sync
REQUEST_SECONDS = 0.25  # 65 requests: a full pass takes about 16 s
FIRST_PIPELINE_ID = 9000


def test_a_worker_killed_mid_sync_loses_and_duplicates_nothing(
    transactional_db,
    httpserver,
    celery_processes,  # noqa: F811
):
    request_times: list[tuple[float, str]] = []
    # A slow GitLab: the sync takes several seconds.
    handler = gitlab_handler(
        gitlab_bodies(PIPELINES, JOBS_PER_PIPELINE, first_id=FIRST_PIPELINE_ID),
        delay=REQUEST_SECONDS,
        served=request_times,
    )
    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(handler)
    source = gitlab_source(base_url=httpserver.url_for("/api/v4/"), token="glpat-test")
    first = celery_processes.worker()

    with transaction.atomic():  # the real path: the task is sent once the row is committed
        sync_run = services.sync_source_queue(source=source, trigger="manual")

    # Mid-sync: the first 500-item batch is committed, the rest not fetched yet.
    celery_processes.wait(
        lambda: RawEvent.objects.filter(source=source).exists(), "a batch is stored"
    )
    first.kill()  # the main process and its pool child
    killed_at = time.monotonic()
    served_before_kill = len(request_times)
    broker = redis.Redis.from_url(settings.REDIS_URL)
    # The message survived the kill: unacked, or already restored by the dead worker's sweep.
    unacked_at_kill, queued_at_kill = broker.hlen("unacked"), broker.llen("poll")
    assert unacked_at_kill + queued_at_kill >= 1
    events_at_kill = RawEvent.objects.filter(source=source).count()
    stored_at_kill = PipelineRun.objects.filter(source=source).count()
    sync_run.refresh_from_db()
    assert sync_run.status == SyncRun.Status.RUNNING
    assert stored_at_kill < PIPELINES and events_at_kill < PIPELINES * (JOBS_PER_PIPELINE + 1)

    second = celery_processes.worker()
    second_started_at = time.monotonic()
    celery_processes.wait(
        lambda: len(request_times) > served_before_kill, "the task is redelivered"
    )
    redelivered_at = request_times[served_before_kill][0]
    celery_processes.wait(
        lambda: (
            SyncRun.objects.get(pk=sync_run.pk).status
            not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
        ),
        "the sync run finishes",
    )
    finished_at = time.monotonic()
    # A sync longer than the visibility timeout is also restored by the worker running it; that
    # copy finds its SyncRun finished and returns. Nothing of this sync is left in the broker.
    celery_processes.wait(
        lambda: broker.llen("poll") == 0 and broker.hlen("unacked") == 0, "broker empty"
    )
    assert second.stop() == 0, second.tail()  # a warm shutdown

    sync_run.refresh_from_db()
    list_requests = [t for t, path in request_times if path == f"{GITLAB_API}/pipelines"]
    jobs = PIPELINES * JOBS_PER_PIPELINE
    print(
        f"\nkilled after {served_before_kill} requests, {events_at_kill} raw events and "
        f"{stored_at_kill} pipelines stored ({unacked_at_kill} unacked, {queued_at_kill} queued); "
        f"redelivered {redelivered_at - killed_at:.1f} s after the kill "
        f"({redelivered_at - second_started_at:.1f} s after the fresh worker started); "
        f"finished {finished_at - redelivered_at:.1f} s later; "
        f"{len(list_requests)} deliveries fetched the pipeline list"
    )
    assert sync_run.status == SyncRun.Status.SUCCESS, sync_run.message
    assert len(list_requests) >= 2, "the killed worker's task was never delivered again"
    assert PipelineRun.objects.filter(source=source).count() == PIPELINES
    assert JobRun.objects.filter(source=source).count() == jobs
    assert set(PipelineRun.objects.filter(source=source).values_list("external_id", flat=True)) == {
        str(FIRST_PIPELINE_ID + n) for n in range(PIPELINES)
    }
    events = RawEvent.objects.filter(source=source)
    assert events.count() == PIPELINES + jobs  # each distinct item once, re-reads ignored
    assert set(events.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
    source.refresh_from_db()
    assert "repositories" in source.sync_state, "cursors saved; the sync lock died with its worker"
