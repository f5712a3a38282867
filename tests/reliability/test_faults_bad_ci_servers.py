"""CI servers that misbehave, seen from a source and a real worker (issue 10, "Faults";
ECOSYSTEM.md C7 row 15). The HTTP client's own rules are tests/pipelines/connectors/test_http*.

Each bad server is a loopback socket server behaving one way for every request: it stalls past
the read timeout, drops the connection before answering, breaks off in the middle of a body,
answers 200 with garbage, or redirects to another host. One worker process syncs a source on
each, in turn: each fails within a stated bound with a readable message on its run and its
source, the worker is then free (a good source queued after them syncs), and the good source
is unaffected.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import transaction

from pipelines import services
from pipelines.models import CISource, PipelineRun, SyncRun
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    celery_processes,
    encryption_key,
    gitlab_bodies,
    gitlab_handler,
)

pytestmark = pytest.mark.slow

READ_TIMEOUT = 2  # CI_READ_TIMEOUT for the worker: a stall fails in seconds, not minutes
ATTEMPTS = 4  # SourceHttp's first try and its 3 retries
BACKOFF_MAX = (0.5 + 1 + 2) * 2  # SourceHttp's backoff before retries 1-3, with full jitter
# The slowest failure (a stall) waits out the read timeout on every attempt.
FAIL_WITHIN = ATTEMPTS * READ_TIMEOUT + BACKOFF_MAX + 5
GOOD_WITHIN = 60  # the good source may wait behind one Celery retry of a stalled source

# What each misbehaviour must leave on its run (a transient failure stays queued for Celery's
# retry, a permanent one fails the run) and on the source.
EXPECTED = {
    "stalls": (SyncRun.Status.QUEUED, f"ReadTimeout after {ATTEMPTS} attempts"),
    "drops": (SyncRun.Status.QUEUED, f"ConnectionError after {ATTEMPTS} attempts"),
    "breaks off": (SyncRun.Status.QUEUED, f"ChunkedEncodingError after {ATTEMPTS} attempts"),
    "garbage": (SyncRun.Status.FAILED, "answered 200 with a body that is not JSON"),
    "redirects": (SyncRun.Status.FAILED, "redirects to another host (http://127.0.0.2"),
}


class Misbehaving(socketserver.BaseRequestHandler):
    """Reads one request head, then misbehaves as ``server.how`` says."""

    def handle(self) -> None:
        connection: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = connection.recv(4096)
            if not chunk:
                return
            head += chunk
        how = self.server.how
        if how == "stalls":
            self.server.released.wait(60)  # never answers while the test runs
        elif how == "breaks off":
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            connection.sendall(b'Content-Length: 100000\r\n\r\n[{"id": 1, ')
        elif how == "garbage":
            body = b"\x00\xff<html>not json"
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
        elif how == "redirects":
            port = self.server.server_address[1]
            connection.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%d/api/v4/x\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n" % port
            )
        # "drops" (and every other case once answered): close the connection
        connection.close()


class MisbehavingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, how: str) -> None:
        super().__init__(("127.0.0.1", 0), Misbehaving)
        self.how = how
        self.released = threading.Event()


@pytest.fixture
def bad_servers():
    servers = {how: MisbehavingServer(how) for how in EXPECTED}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers.values():
        server.released.set()
        server.shutdown()
        server.server_close()


def _source(name: str, base_url: str, service) -> CISource:
    return services.source_create(
        actor=UserFactory(),
        kind=CISource.Kind.GITLAB,
        name=name,
        base_url=base_url,
        token="glpat-test",
        repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
    )


def test_misbehaving_ci_servers_fail_their_sources_readably_and_free_the_worker(
    transactional_db,
    httpserver,
    bad_servers,
    celery_processes,  # noqa: F811
):
    service = ServiceFactory(team=TeamFactory(), slug="cart-api")
    bad = {
        how: _source(
            f"GitLab that {how}", f"http://127.0.0.1:{server.server_address[1]}/api/v4/", service
        )
        for how, server in bad_servers.items()
    }
    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(
        gitlab_handler(gitlab_bodies(3, 2))
    )
    good = _source("GitLab that works", httpserver.url_for("/api/v4/"), service)
    # One process, one sync at a time. A visibility timeout longer than a failing attempt, as
    # in production: else the broker hands the running task out again while it still runs.
    celery_processes.worker(CI_READ_TIMEOUT=str(READ_TIMEOUT), CELERY_VISIBILITY_TIMEOUT="60")

    with transaction.atomic():
        runs = {how: services.sync_source_queue(source=s, trigger="poll") for how, s in bad.items()}
    failed_after: dict[str, float] = {}

    def all_failed() -> bool:
        for how, run in runs.items():
            run.refresh_from_db()
            if how not in failed_after and run.started_at and run.message:
                failed_after[how] = (datetime.now(UTC) - run.started_at).total_seconds()
        return len(failed_after) == len(runs)

    celery_processes.wait(
        all_failed, "every bad source has failed", timeout=len(runs) * FAIL_WITHIN
    )
    queued_at = time.monotonic()
    with transaction.atomic():
        good_run = services.sync_source_queue(source=good, trigger="poll")
    celery_processes.wait(
        lambda: SyncRun.objects.get(pk=good_run.pk).status == SyncRun.Status.SUCCESS,
        "the good source syncs after them",
        timeout=GOOD_WITHIN,
    )
    good_after = time.monotonic() - queued_at

    print(
        "\nbad CI servers failed after "
        + ", ".join(f"{how} {seconds:.1f} s" for how, seconds in failed_after.items())
        + f" (bound {FAIL_WITHIN:.0f} s); the good source queued after them synced in "
        f"{good_after:.1f} s"
    )
    for how, (status, text) in EXPECTED.items():
        run = SyncRun.objects.get(pk=runs[how].pk)
        source = CISource.objects.get(pk=bad[how].pk)
        if status == SyncRun.Status.QUEUED:  # transient: left for Celery's retry
            assert run.message.startswith("will retry: http://127.0.0.1:"), (how, run.message)
            assert text in run.message and text in source.last_error, (how, run.message)
        else:  # permanent: the repository is marked, the run failed
            assert run.status == status, (how, run.status, run.message)
            assert run.message == "1 of 1 repositories failed"
            assert text in source.repository_errors[GITLAB_PROJECT], source.repository_errors
        assert failed_after[how] < FAIL_WITHIN, (how, failed_after[how])
        assert not PipelineRun.objects.filter(source=source).exists()
    good.refresh_from_db()
    assert good.last_error == "" and good.repository_errors == {}
    assert PipelineRun.objects.filter(source=good).count() == 3
