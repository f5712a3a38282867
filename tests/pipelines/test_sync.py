"""The sync engine with the real GitLab connector against a loopback server (recorded rows)."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from pipelines.models import CISource, JobRun, PipelineRun, RawEvent, SyncRun
from pipelines.sync import LOCK_NAMESPACE, MAX_ATTEMPTS, TransientSyncError, source_sync
from tests.pipelines.conftest import GITLAB_PROJECT, recorded_rows

PIPELINES = recorded_rows("gitlab", "devlake-raw-gitlab-api-pipeline-details.csv")
JOBS = recorded_rows("gitlab", "devlake-raw-gitlab-api-jobs.PARTLY-SYNTHETIC.csv")
API = f"/api/v4/projects/{GITLAB_PROJECT}"
MISSING = "acme/gone"


def serve_project(httpserver, *, headers=None) -> None:
    """The recorded project: 16 pipelines (one jobs page each), nothing else."""
    httpserver.expect_request(f"{API}/pipelines").respond_with_json(
        PIPELINES, headers=headers or {}
    )
    for pipeline in PIPELINES:
        jobs = [job for job in JOBS if job.get("pipeline", {}).get("id") == pipeline["id"]]
        httpserver.expect_request(f"{API}/pipelines/{pipeline['id']}").respond_with_json(pipeline)
        httpserver.expect_request(f"{API}/pipelines/{pipeline['id']}/jobs").respond_with_json(jobs)
    for stream in ("deployments", "merge_requests", "issues"):
        httpserver.expect_request(f"{API}/{stream}").respond_with_json([])


@pytest.fixture
def source(make_source, httpserver, service):
    return make_source(
        "gitlab",
        base_url=httpserver.url_for("/api/v4/"),
        backfill_days=3650,
        repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
    )


def test_a_first_sync_stores_every_run_once_and_records_the_outcome(source, httpserver):
    serve_project(httpserver)

    sync_run = source_sync(source_id=source.pk, trigger="command")

    source.refresh_from_db()
    assert sync_run.status == SyncRun.Status.SUCCESS
    assert PipelineRun.objects.filter(source=source).count() == len(PIPELINES)
    assert set(PipelineRun.objects.values_list("service__slug", flat=True)) == {"cart-api"}
    assert sync_run.requests == len(httpserver.log)
    assert (source.last_error, source.repository_errors) == ("", {})
    assert source.last_success_at is not None and source.next_poll_at > source.last_success_at
    assert not lock_held_elsewhere(source), "the lock is released at the end"


def test_a_second_sync_of_unchanged_data_stores_nothing_new(source, httpserver):
    serve_project(httpserver)
    source_sync(source_id=source.pk)
    counts = (RawEvent.objects.count(), PipelineRun.objects.count(), JobRun.objects.count())

    second = source_sync(source_id=source.pk)

    assert second.items_new == 0
    assert (RawEvent.objects.count(), PipelineRun.objects.count(), JobRun.objects.count()) == counts


def test_a_missing_repository_is_marked_and_the_others_go_on(source, httpserver, service):
    serve_project(httpserver)
    httpserver.expect_request(f"/api/v4/projects/{MISSING}/pipelines").respond_with_json(
        {"message": "404 Project Not Found"}, status=404
    )
    source.repositories = [
        {"name": MISSING, "service": service.slug},
        {"name": GITLAB_PROJECT, "service": service.slug},
    ]
    source.save()

    sync_run = source_sync(source_id=source.pk)

    source.refresh_from_db()
    assert sync_run.status == SyncRun.Status.PARTIAL
    assert "404" in source.repository_errors[MISSING]
    assert PipelineRun.objects.count() == len(PIPELINES)


def test_a_bad_token_fails_the_sync_with_a_readable_error(source, httpserver):
    httpserver.expect_request(f"{API}/pipelines").respond_with_json({"message": "401"}, status=401)

    sync_run = source_sync(source_id=source.pk)

    source.refresh_from_db()
    assert sync_run.status == SyncRun.Status.FAILED
    assert "401" in source.repository_errors[GITLAB_PROJECT]
    assert "1 of 1 repositories failed" in source.last_error


def test_a_rate_limit_pauses_the_sync_until_the_reset(source, httpserver):
    reset = int(time.time()) + 3600
    httpserver.expect_request(f"{API}/pipelines").respond_with_data(
        "Retry later",
        status=429,
        headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
    )

    sync_run = source_sync(source_id=source.pk)

    source.refresh_from_db()
    assert sync_run.status == SyncRun.Status.PAUSED
    assert abs(source.next_poll_at.timestamp() - reset) < 2
    assert len(httpserver.log) == 1, "no hammering: one request, then wait for the reset"


def other_session():
    """A second, real database session (the lock is per session, like a second worker)."""
    import psycopg2
    from django.db import connection

    params = connection.get_connection_params()
    session = psycopg2.connect(**params)
    session.autocommit = True
    return session


def lock_held_elsewhere(source) -> bool:
    session = other_session()
    with session.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, source.pk])
        free = cursor.fetchone()[0]
        cursor.execute("SELECT pg_advisory_unlock_all()")
    session.close()
    return not free


def test_only_one_sync_of_a_source_runs_at_a_time(source, httpserver):
    worker = other_session()  # another worker holding this source's sync lock
    with worker.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, source.pk])

    skipped = source_sync(source_id=source.pk)
    worker.close()  # the worker dies: Postgres releases its lock with the connection
    serve_project(httpserver)
    after = source_sync(source_id=source.pk)

    assert skipped is None
    assert SyncRun.objects.filter(message__contains="another sync").count() == 1
    assert after.status == SyncRun.Status.SUCCESS


def test_the_command_syncs_and_prints_a_summary(source, httpserver, capsys):
    serve_project(httpserver)

    call_command("sync_source", source.slug)

    output = capsys.readouterr().out
    assert "Success" in output and f"requests {len(httpserver.log)}" in output


def test_the_command_names_the_known_sources_for_a_typo(source):
    with pytest.raises(CommandError, match=f"known: {source.slug}"):
        call_command("sync_source", "nope")


def test_reprocess_replays_stored_events_without_duplicating(source, httpserver):
    serve_project(httpserver)
    source_sync(source_id=source.pk)
    PipelineRun.objects.all().delete()

    call_command("reprocess", source=source.slug)

    assert PipelineRun.objects.count() == len(PIPELINES)
    call_command("reprocess")
    assert PipelineRun.objects.count() == len(PIPELINES)


def test_an_inactive_or_push_source_is_never_dispatched(source, make_source):
    from pipelines.tasks import dispatch_due_sources_task

    CISource.objects.filter(pk=source.pk).update(is_active=False)

    assert dispatch_due_sources_task() == 0
    assert not SyncRun.objects.exists()


def test_a_beat_tick_fired_twice_queues_one_sync_per_due_source(
    source, django_capture_on_commit_callbacks
):
    from pipelines.tasks import dispatch_due_sources_task

    with django_capture_on_commit_callbacks() as sent:
        first, second = dispatch_due_sources_task(), dispatch_due_sources_task()

    source.refresh_from_db()
    assert (first, second) == (1, 0)
    assert SyncRun.objects.filter(source=source, trigger="poll").count() == 1
    assert len(sent) == 1
    assert source.next_poll_at > timezone.now()


def test_after_a_rate_limit_pause_the_next_sync_resumes_and_completes(source, httpserver):
    reset = int(time.time()) + 3600
    httpserver.expect_oneshot_request(f"{API}/pipelines").respond_with_data(
        "Retry later",
        status=429,
        headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
    )
    paused = source_sync(source_id=source.pk)
    serve_project(httpserver)  # the quota is back

    resumed = source_sync(source_id=source.pk)

    assert (paused.status, resumed.status) == (SyncRun.Status.PAUSED, SyncRun.Status.SUCCESS)
    assert PipelineRun.objects.count() == len(PIPELINES)


def test_a_transient_failure_leaves_the_run_queued_for_celerys_retry(source, httpserver):
    httpserver.expect_request(f"{API}/pipelines").respond_with_data("down", status=503)
    sync_run = SyncRun.objects.create(source=source, trigger="poll")

    with pytest.raises(TransientSyncError):
        source_sync(source_id=source.pk, sync_run_id=sync_run.pk)
    sync_run.refresh_from_db()
    assert (sync_run.status, sync_run.finished_at) == (SyncRun.Status.QUEUED, None)

    httpserver.clear()
    serve_project(httpserver)  # the server is back; Celery retries the same run
    retried = source_sync(source_id=source.pk, sync_run_id=sync_run.pk)

    assert (retried.status, retried.attempts) == (SyncRun.Status.SUCCESS, 2)
    assert PipelineRun.objects.count() == len(PIPELINES)


def test_a_sync_delivered_too_often_gives_up(source, httpserver):
    sync_run = SyncRun.objects.create(
        source=source, status=SyncRun.Status.RUNNING, attempts=MAX_ATTEMPTS
    )

    given_up = source_sync(source_id=source.pk, sync_run_id=sync_run.pk)

    assert given_up.status == SyncRun.Status.FAILED and "gave up" in given_up.message
    assert httpserver.log == []
