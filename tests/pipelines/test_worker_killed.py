"""A Celery worker SIGKILLed mid-sync loses and duplicates nothing (issue 3): late acks plus the
Redis unacked-restore sweep deliver the task again to a fresh worker, which finishes the same
SyncRun, and the idempotent store keeps every pipeline and job exactly once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
import pytest
import redis
from django.conf import settings
from django.db import transaction
from werkzeug import Response

from pipelines import services
from pipelines.models import CISource, JobRun, PipelineRun, RawEvent, SyncRun
from portal import crypto
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.processes import process_env

pytestmark = pytest.mark.slow

PROJECT = "merico-dev/ee/vdev.co"
API = f"/api/v4/projects/{PROJECT}"  # the server sees the decoded path
PIPELINES, JOBS_PER_PIPELINE = 30, 50  # 1,530 items: the first 500-item batch lands mid-sync
REQUEST_SECONDS = 0.25  # 65 requests: a full pass takes about 16 s
WAIT_SECONDS = 60


def _payloads() -> dict[str, object]:
    """Path -> JSON body: 30 finished pipelines, each with details and 50 jobs, empty rest."""
    start = datetime.now(UTC) - timedelta(days=2)
    bodies: dict[str, object] = {f"{API}/{s}": [] for s in ("deployments", "merge_requests")}
    bodies[f"{API}/issues"] = []
    summaries = []
    for n in range(PIPELINES):
        at = (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        times = {"created_at": at, "started_at": at, "finished_at": at, "status": "success"}
        pipeline = dict(id=9000 + n, iid=n + 1, ref="main", sha=f"{n:040x}", updated_at=at, **times)
        summaries.append(pipeline)
        bodies[f"{API}/pipelines/{9000 + n}"] = pipeline
        bodies[f"{API}/pipelines/{9000 + n}/jobs"] = [
            dict(id=100000 + n * 100 + j, name=f"job-{j}", pipeline={"id": 9000 + n}, **times)
            for j in range(JOBS_PER_PIPELINE)
        ]
    bodies[f"{API}/pipelines"] = summaries
    return bodies


@pytest.fixture
def encryption_key(monkeypatch) -> str:
    """One key for this process and the workers, so they can read the source's token."""
    key = crypto.new_key_entry("k1")
    monkeypatch.setenv("FLIGHTDECK_ENCRYPTION_KEYS", key)
    crypto.reset_key_cache()
    yield key
    crypto.reset_key_cache()


@pytest.fixture
def workers(tmp_path, encryption_key):
    """``start()`` a real Celery worker on the test database and Redis; all killed at teardown."""
    database = settings.DATABASES["default"]["NAME"]  # test_<name> during the test
    url = urlsplit(os.environ["DATABASE_URL"])
    env = process_env(
        DATABASE_URL=urlunsplit(url._replace(path="/" + quote(database))),
        REDIS_URL=settings.REDIS_URL,
        CELERY_VISIBILITY_TIMEOUT="5",
        CELERY_RESTORE_INTERVAL="1",
        CELERY_RESTORE_THROTTLE="1",
        FLIGHTDECK_HOME=str(tmp_path / "home"),
        FLIGHTDECK_ENCRYPTION_KEYS=encryption_key,
        SECRET_KEY=os.environ["SECRET_KEY"],
    )
    started: list[tuple[subprocess.Popen, Path]] = []

    def start() -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker"]
        command += ["--queues", "default,poll", "--concurrency", "1", "--pool", "prefork"]
        command += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return process, log

    yield start
    for process, _ in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _tree(process: subprocess.Popen) -> list[int]:
    return [process.pid] + [c.pid for c in psutil.Process(process.pid).children(recursive=True)]


def _assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        time.sleep(0.1)
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert left == [], f"still running: {left}"


def _wait(condition, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"timed out waiting until {what}\n{tails}")
        time.sleep(0.1)


def test_a_worker_killed_mid_sync_loses_and_duplicates_nothing(
    transactional_db, httpserver, workers
):
    bodies = _payloads()
    request_times: list[tuple[float, str]] = []

    def handle(request):
        request_times.append((time.monotonic(), request.path))
        time.sleep(REQUEST_SECONDS)  # a slow GitLab: the sync takes several seconds
        if request.path not in bodies:
            return Response('{"message": "404 Not Found"}', 404, mimetype="application/json")
        return Response(json.dumps(bodies[request.path]), mimetype="application/json")

    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(handle)
    service = ServiceFactory(team=TeamFactory(), slug="cart-api")
    source = services.source_create(
        actor=UserFactory(),
        kind=CISource.Kind.GITLAB,
        name="GitLab",
        base_url=httpserver.url_for("/api/v4/"),
        token="glpat-test",
        repositories=[{"name": PROJECT, "service": service.slug}],
    )
    first, first_log = workers()

    with transaction.atomic():  # the real path: the task is sent once the row is committed
        sync_run = services.sync_source_queue(source=source, trigger="manual")

    # Mid-sync: the first 500-item batch is committed, the rest not fetched yet.
    _wait(lambda: RawEvent.objects.filter(source=source).exists(), "a batch is stored", [first_log])
    first_pids = _tree(first)
    os.killpg(first.pid, signal.SIGKILL)  # the main process and its pool child
    killed_at = time.monotonic()
    first.wait(timeout=10)
    _assert_gone(first_pids)
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

    second, second_log = workers()
    second_started_at = time.monotonic()
    logs = [first_log, second_log]
    _wait(lambda: len(request_times) > served_before_kill, "the task is redelivered", logs)
    redelivered_at = request_times[served_before_kill][0]
    _wait(
        lambda: (
            SyncRun.objects.get(pk=sync_run.pk).status
            not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
        ),
        "the sync run finishes",
        logs,
    )
    finished_at = time.monotonic()
    # A sync longer than the visibility timeout is also restored by the worker running it; that
    # copy finds its SyncRun finished and returns. Nothing of this sync is left in the broker.
    _wait(lambda: broker.llen("poll") == 0 and broker.hlen("unacked") == 0, "broker empty", logs)

    second_pids = _tree(second)
    second.send_signal(signal.SIGTERM)  # warm shutdown
    assert second.wait(timeout=30) == 0, second_log.read_text()[-3000:]
    _assert_gone(second_pids)

    sync_run.refresh_from_db()
    list_requests = [t for t, path in request_times if path == f"{API}/pipelines"]
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
        str(9000 + n) for n in range(PIPELINES)
    }
    events = RawEvent.objects.filter(source=source)
    assert events.count() == PIPELINES + jobs  # each distinct item once, re-reads ignored
    assert set(events.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
    source.refresh_from_db()
    assert "repositories" in source.sync_state, "cursors saved; the sync lock died with its worker"
