"""Postgres restarted in the middle of a sync (issue 10, "Faults"): the sync fails cleanly,
with a readable message on its run, is retried by Celery, and ends complete, every record once.

A real restart (``pg_ctl restart -m fast``) of the suite's own throwaway server, measured at
about a second, so it runs in CI: the worker's session ends under it as in production, taking
the per-source advisory lock with it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from pgserver import _commands

from pipelines import services
from pipelines.models import JobRun, PipelineRun, RawEvent, SyncRun
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    celery_processes,
    duplicate_records,
    encryption_key,
    gitlab_bodies,
    gitlab_handler,
    gitlab_source,
)

pytestmark = pytest.mark.slow

PIPELINES, JOBS_PER_PIPELINE = 20, 50  # 1,020 items: the restart lands after the first batch
REQUEST_SECONDS = 0.1  # 45 requests: about 5 s of fetching
# Celery's first retry comes after 0-30 s (retry_backoff=30 with full jitter), then the sync.
RECOVERY_SECONDS = 90
LOST = "will retry: the database connection was lost ("


def restart_postgres() -> float:
    """Restart the test database's server (it must be local, as the suite's own is); return
    the seconds it took. This process's connections are closed first and reopen on use."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        pgdata = Path(cursor.fetchone()[0])
    connections.close_all()
    started = time.monotonic()
    _commands.pg_ctl(
        ["-w", "-m", "fast", "-t", "30", "-l", str(pgdata / "log"), "restart"],
        pgdata=pgdata,
        user="pgserver" if os.geteuid() == 0 else None,  # as portal.embedded runs it
        timeout=60,
    )
    return time.monotonic() - started


def test_a_postgres_restart_mid_sync_fails_it_cleanly_and_the_retry_completes_it(
    transactional_db,
    httpserver,
    celery_processes,  # noqa: F811
):
    handler = gitlab_handler(gitlab_bodies(PIPELINES, JOBS_PER_PIPELINE), delay=REQUEST_SECONDS)
    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(handler)
    source = gitlab_source(base_url=httpserver.url_for("/api/v4/"), token="glpat-test")
    celery_processes.worker()
    with transaction.atomic():  # the real path: the task is sent once the row is committed
        sync_run = services.sync_source_queue(source=source, trigger="manual")
    celery_processes.wait(
        lambda: RawEvent.objects.filter(source=source).exists(), "the first batch is stored"
    )

    restart_seconds = restart_postgres()
    restarted_at = time.monotonic()
    messages = set()

    def finished() -> bool:
        run = SyncRun.objects.get(pk=sync_run.pk)
        messages.add(run.message)
        return run.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)

    celery_processes.wait(finished, "the retried sync finishes", timeout=RECOVERY_SECONDS)
    recovered_after = time.monotonic() - restarted_at

    sync_run.refresh_from_db()
    failure = next((m for m in messages if m.startswith(LOST)), "")
    jobs = PIPELINES * JOBS_PER_PIPELINE
    duplicates = duplicate_records(source)
    print(
        f"\npostgres restarted in {restart_seconds:.1f} s mid-sync; the run said {failure!r}; "
        f"complete {recovered_after:.1f} s after the restart, on attempt {sync_run.attempts}, "
        f"{duplicates} duplicates"
    )
    assert failure, f"no readable failure on the run; it said {sorted(messages)}"
    assert sync_run.status == SyncRun.Status.SUCCESS, sync_run.message
    assert sync_run.attempts >= 2
    assert PipelineRun.objects.filter(source=source).count() == PIPELINES
    assert JobRun.objects.filter(source=source).count() == jobs
    assert duplicates == 0
    events = RawEvent.objects.filter(source=source)
    assert events.count() == PIPELINES + jobs
    assert set(events.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
