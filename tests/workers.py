"""Real Celery processes for the fault tests, and a fake GitLab for them to sync from.

The ``celery_processes`` fixture starts ``celery worker`` and ``celery beat`` subprocesses on
the test database and Redis, with small visibility and restore values so a killed worker's
task comes back within seconds (ECOSYSTEM.md B5); all it started are killed at teardown.
The tests that use it need ``transactional_db``: a worker only sees committed rows.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from werkzeug import Request, Response

from pipelines.models import RawEvent, SyncRun
from portal import crypto
from tests.processes import process_env

# Small values: an unacknowledged task of a dead worker is restored after about 5 s.
VISIBILITY_TIMEOUT_SECONDS = 5
WAIT_SECONDS = 60


@dataclass
class CeleryProcess:
    """One ``celery worker`` or ``celery beat`` with its own log file."""

    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> list[int]:
        """The main process and all its children (a worker's pool processes)."""
        children = psutil.Process(self.pid).children(recursive=True)
        return [self.pid] + [child.pid for child in children]

    def pool_child(self, timeout: float = 30) -> int:
        """The pid of the (single) pool process, waiting for it to be forked."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = psutil.Process(self.pid).children()
            if children:
                return children[0].pid
            time.sleep(0.05)
        raise AssertionError(f"no pool process\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool) and wait until it is gone."""
        pids = self.tree()
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        assert_gone(pids)

    def stop(self) -> int:
        """A warm shutdown (SIGTERM); returns the exit code."""
        pids = self.tree()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        assert_gone(pids)
        return code

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.log.name}\n{self.log.read_text()[-chars:]}"


@dataclass
class Celery:
    """Starts Celery processes; ``env`` is what they share, ``started`` what to kill at the end."""

    env: dict[str, str]
    folder: Path
    started: list[CeleryProcess] = field(default_factory=list)

    def worker(self, *, concurrency: int = 1, **env: str) -> CeleryProcess:
        command = ["worker", "--queues", "default,poll", "--concurrency", str(concurrency)]
        command += ["--pool", "prefork", "--without-gossip", "--without-mingle"]
        return self._start("worker", command, env)

    def beat(self, *, schedule: Path, **env: str) -> CeleryProcess:
        return self._start("beat", ["beat", "--schedule", str(schedule)], env)

    def _start(self, name: str, arguments: list[str], env: dict[str, str]) -> CeleryProcess:
        log = self.folder / f"{name}-{len(self.started) + 1}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", *arguments, "--loglevel", "INFO"],
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: one killpg takes the pool too
        )
        self.started.append(CeleryProcess(process, log))
        return self.started[-1]

    def tails(self) -> str:
        return "\n".join(p.tail() for p in self.started)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS):
        """Poll ``condition`` until true; on timeout fail with every process's log tail."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}\n{self.tails()}")
            time.sleep(0.05)


@pytest.fixture
def encryption_key(monkeypatch) -> str:
    """One key for this process and the workers, so they can read the source's token."""
    key = crypto.new_key_entry("k1")
    monkeypatch.setenv("FLIGHTDECK_ENCRYPTION_KEYS", key)
    crypto.reset_key_cache()
    yield key
    crypto.reset_key_cache()


def worker_database_url() -> str:
    """DATABASE_URL naming the test database (``test_<name>``) the test process uses."""
    database = settings.DATABASES["default"]["NAME"]
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + quote(database)))


@pytest.fixture
def celery_processes(tmp_path, encryption_key):
    """Starts real Celery processes on the test database and Redis (``Celery``)."""
    env = process_env(
        DATABASE_URL=worker_database_url(),
        REDIS_URL=settings.REDIS_URL,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT_SECONDS),
        CELERY_RESTORE_INTERVAL="1",
        CELERY_RESTORE_THROTTLE="1",
        FLIGHTDECK_HOME=str(tmp_path / "home"),
        FLIGHTDECK_ENCRYPTION_KEYS=encryption_key,
        SECRET_KEY=os.environ["SECRET_KEY"],
    )
    started = Celery(env=env, folder=tmp_path)
    yield started
    for celery_process in started.started:
        if celery_process.process.poll() is None:
            os.killpg(celery_process.pid, signal.SIGKILL)
            celery_process.process.wait(timeout=10)


def assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert left == [], f"still running: {left}"


# --- a GitLab to sync from -----------------------------------------------------------------------

GITLAB_PROJECT = "merico-dev/ee/vdev.co"
GITLAB_API = f"/api/v4/projects/{GITLAB_PROJECT}"  # the server sees the decoded path


def gitlab_source(*, base_url: str = "http://127.0.0.1:9/", **credentials: str):
    """A GitLab source for GITLAB_PROJECT on service cart-api of a new team; ``credentials``:
    ``token`` (polled) or ``webhook_secret`` (deliveries)."""
    from pipelines import services
    from pipelines.models import CISource
    from tests.factories import ServiceFactory, TeamFactory, UserFactory

    service = ServiceFactory(team=TeamFactory(), slug="cart-api")
    return services.source_create(
        actor=UserFactory(),
        kind=CISource.Kind.GITLAB,
        name="GitLab",
        base_url=base_url,
        repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
        **credentials,
    )


def gitlab_bodies(pipelines: int, jobs_per_pipeline: int, *, first_id: int = 9000) -> dict:
    """Path -> JSON body: finished pipelines, each with its details and jobs; empty rest."""
    start = datetime.now(UTC) - timedelta(days=2)
    bodies: dict[str, object] = {
        f"{GITLAB_API}/{path}": [] for path in ("deployments", "merge_requests", "issues")
    }
    summaries = []
    for n in range(pipelines):
        at = (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        times = {"created_at": at, "started_at": at, "finished_at": at, "status": "success"}
        pipeline_id = first_id + n
        pipeline = dict(id=pipeline_id, iid=n + 1, ref="main", sha=f"{n:040x}", updated_at=at)
        pipeline.update(times)
        summaries.append(pipeline)
        bodies[f"{GITLAB_API}/pipelines/{pipeline_id}"] = pipeline
        bodies[f"{GITLAB_API}/pipelines/{pipeline_id}/jobs"] = [
            dict(id=pipeline_id * 1000 + j, name=f"job-{j}", pipeline={"id": pipeline_id}, **times)
            for j in range(jobs_per_pipeline)
        ]
    bodies[f"{GITLAB_API}/pipelines"] = summaries
    return bodies


def gitlab_handler(bodies: dict, *, delay: float = 0.0, served: list | None = None):
    """A pytest-httpserver handler serving ``bodies``, each answer ``delay`` seconds late;
    appends ``(monotonic time, path)`` of every request to ``served``."""

    def handle(request: Request) -> Response:
        if served is not None:
            served.append((time.monotonic(), request.path))
        time.sleep(delay)
        if request.path not in bodies:
            return Response('{"message": "404 Not Found"}', 404, mimetype="application/json")
        return Response(json.dumps(bodies[request.path]), mimetype="application/json")

    return handle


PIPELINE_HOOK = json.loads(
    (
        Path(__file__).parent
        / "pipelines/connectors/fixtures/gitlab/webhook-pipeline-hook.go-gitlab.json"
    ).read_text()
)


def pipeline_hook(pipeline_id: int) -> dict:
    """A GitLab pipeline webhook body for ``GITLAB_PROJECT`` with its own pipeline and job ids."""
    payload = copy.deepcopy(PIPELINE_HOOK)
    payload["object_attributes"]["id"] = pipeline_id
    payload["project"]["path_with_namespace"] = GITLAB_PROJECT
    for j, build in enumerate(payload["builds"]):
        build["id"] = pipeline_id * 10 + j
    return payload


def pipeline_hooks_stored(source, count: int, *, first_id: int = 50_000) -> list[int]:
    """``count`` distinct pipeline webhooks stored pending, as the webhook view stores them
    (its task not sent): their ids, for a test to queue."""
    events = RawEvent.objects.bulk_create(
        RawEvent(
            source=source,
            origin=RawEvent.Origin.WEBHOOK,
            kind="Pipeline Hook",
            delivery_id=f"webhook:fault-{first_id + n}",
            payload=pipeline_hook(first_id + n),
        )
        for n in range(count)
    )
    return [event.pk for event in events]


# --- kills mid-work (tests/reliability/test_faults_worker_killed.py, tests/soak) --------------


def broker_idle() -> bool:
    """No task of ours left in Redis: queues empty, nothing delivered and unacknowledged."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    return broker.hlen("unacked") == 0 and not any(
        broker.llen(queue) for queue in ("default", "poll")
    )


def claimed_pending(source) -> list[int]:
    """Ids of the pending events a worker has claimed but not committed: its claim locks the
    rows it took, so these mean a normalisation transaction is open right now."""
    pending = RawEvent.objects.filter(source=source, status=RawEvent.Status.PENDING)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {RawEvent._meta.db_table} "  # noqa: S608
            "WHERE source_id = %s AND status = %s FOR SHARE SKIP LOCKED",
            [source.pk, RawEvent.Status.PENDING],
        )
        free = {row[0] for row in cursor.fetchall()}
    return sorted(set(pending.values_list("id", flat=True)) - free)


@dataclass
class KillOutcome:
    """One kill: when the killed work was done again, and what was pending at the kill."""

    redelivered_after: float
    left_at_kill: int


def kill_mid_normalisation(
    celery_processes: Celery, worker: CeleryProcess, source, ids: list[int], *, batch: int, rng
) -> KillOutcome:
    """Queue ``ids`` for normalisation in tasks of ``batch``, SIGKILL the worker's pool process
    at a random moment while one of them holds its claim (an out-of-memory kill), and wait
    until all are processed. The main process sees its child die and gives the task back
    (``task_reject_on_worker_lost``); redelivery is timed until the killed batch is committed.
    """
    from pipelines.tasks import rawevents_process_task

    child = worker.pool_child()
    for start in range(0, len(ids), batch):
        rawevents_process_task.delay(ids[start : start + batch])
    pending = RawEvent.objects.filter(source=source, status=RawEvent.Status.PENDING)
    while True:
        celery_processes.wait(lambda: claimed_pending(source), "a batch is claimed")
        time.sleep(rng.uniform(0, 0.5))
        if claimed := claimed_pending(source):  # still mid-transaction: kill it now
            break
        assert pending.exists(), "every batch was done before the kill; make them bigger"
    os.kill(child, signal.SIGKILL)
    killed_at = time.monotonic()
    left_at_kill = pending.count()
    killed_batch = pending.model.objects.filter(pk__in=claimed)
    celery_processes.wait(
        lambda: not killed_batch.filter(status=RawEvent.Status.PENDING).exists(),
        "the killed batch is processed again",
    )
    redelivered_after = time.monotonic() - killed_at
    celery_processes.wait(lambda: not pending.exists(), "every event is processed")
    return KillOutcome(redelivered_after=redelivered_after, left_at_kill=left_at_kill)


def duplicate_records(source) -> int:
    """Pipeline and job runs of ``source`` stored more than once under one external id."""
    from django.db.models import Count

    from pipelines.models import JobRun, PipelineRun

    return sum(
        model.objects.filter(source=source)
        .values("external_id")
        .annotate(copies=Count("id"))
        .filter(copies__gt=1)
        .count()
        for model in (PipelineRun, JobRun)
    )


def kill_mid_sync(
    celery_processes: Celery, worker: CeleryProcess, source, served: list, *, after_requests: int
) -> tuple[CeleryProcess, KillOutcome]:
    """Queue a sync of ``source``, SIGKILL the whole worker once the fake CI server has had
    ``after_requests`` requests of it (fewer than the sync makes), start a fresh worker and
    wait until the sync finishes. Redis restores the dead worker's task after the visibility
    timeout; redelivery is timed to the next request the server gets (``served``). Returns
    the fresh worker and the outcome."""
    from pipelines.services import sync_source_queue

    served_before = len(served)
    with transaction.atomic():  # the real path: the task is sent once the row is committed
        sync_run = sync_source_queue(source=source, trigger="manual")
    celery_processes.wait(lambda: len(served) >= served_before + after_requests, "it fetches")
    worker.kill()
    killed_at, served_before_kill = time.monotonic(), len(served)
    runs = SyncRun.objects.filter(pk=sync_run.pk)
    assert runs.get().status == SyncRun.Status.RUNNING, "the sync ended before the kill"
    left_at_kill = RawEvent.objects.filter(source=source, status=RawEvent.Status.PENDING).count()
    fresh = celery_processes.worker()
    celery_processes.wait(lambda: len(served) > served_before_kill, "the sync is redelivered")
    redelivered_after = served[served_before_kill][0] - killed_at
    celery_processes.wait(
        lambda: runs.exclude(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]).exists(),
        "the sync finishes",
    )
    return fresh, KillOutcome(redelivered_after=redelivered_after, left_at_kill=left_at_kill)
