"""Webhooks over real sockets: replays from threads store one row, and an oversized body is
refused before it is read (issue 10, "Bad input"; ECOSYSTEM.md C7 row 1).

Django's live server runs the replays and the declared-length case; gunicorn, the production
server (README "Production"), runs the size cases too, as only it decodes a chunked body.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from django.db import connection

from pipelines.models import PipelineRun, RawEvent
from tests.processes import process_env
from tests.reliability.webhook_corpus_kinds import KINDS, source_for

REPLAYS = 20  # in sequence, then as many again from THREADS threads (C7 row 1)
THREADS = 8
ANSWER_WITHIN = 5.0  # seconds; the body that would follow is never sent


@pytest.fixture
def sources(org, service, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the accepted delivery is normalised in-request
    return {name: source_for(kind, org.users["ada"]) for name, kind in KINDS.items()}


def test_a_delivery_replayed_in_sequence_and_from_threads_is_stored_once(live_server, sources):
    statuses, rows = Counter(), {}
    for name, kind in KINDS.items():
        body = kind.body()
        extra = {kind.delivery_header: f"replay-{name}"} if kind.delivery_header else {}
        headers = {**kind.headers(body, **extra), "Content-Type": "application/json"}
        url = f"{live_server.url}/webhooks/{name}/{sources[name].slug}/"

        def send(_, url=url, body=body, headers=headers) -> int:
            return requests.post(url, data=body, headers=headers, timeout=30).status_code

        statuses.update(send(n) for n in range(REPLAYS))
        with ThreadPoolExecutor(THREADS) as pool:
            statuses.update(pool.map(send, range(REPLAYS)))
        rows[name] = RawEvent.objects.filter(source=sources[name]).count()

    sent = sum(statuses.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(
        f"\n{len(KINDS)} kinds x {2 * REPLAYS} replays ({THREADS} threads): {statuses[202]} 202, "
        f"{server_errors} 5xx, {sum(rows.values())} rows, "
        f"{PipelineRun.objects.filter(source=sources['github']).count()} GitHub run"
    )
    assert statuses == {202: sent}
    assert rows == dict.fromkeys(KINDS, 1)
    assert PipelineRun.objects.filter(source=sources["github"]).count() == 1


def _request_head(path: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_of(sock: socket.socket) -> int:
    """The status code of the first response on ``sock``."""
    answer = b""
    while b"\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return int(answer.split(b" ", 2)[1])


def declared_too_long(base_url: str, source, limit: int) -> tuple[int, float]:
    """Declare a body one byte over ``limit``, send 12 bytes of it, wait for the answer."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    with socket.create_connection((host, port), timeout=ANSWER_WITHIN) as sock:
        started = time.monotonic()
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(limit + 1),
            **KINDS["github"].headers(b"{}"),
        }
        sock.sendall(_request_head(f"/webhooks/github/{source.slug}/", host, headers))
        sock.sendall(b'{"padding": ')
        return _status_of(sock), time.monotonic() - started


def chunked_past_the_limit(base_url: str, source, limit: int) -> tuple[int, int]:
    """Stream a chunked body with no length and no end; (status, bytes sent before it)."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    chunk = b"a" * 8192
    sent = 0
    with socket.create_connection((host, port), timeout=ANSWER_WITHIN) as sock:
        headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        headers |= KINDS["github"].headers(b"{}")
        sock.sendall(_request_head(f"/webhooks/github/{source.slug}/", host, headers))
        # Paced, as a client on a network sends: loopback would take the whole body into the
        # kernel's buffers before the server had looked at the first chunk.
        while sent < 20 * limit and not select.select([sock], [], [], 0.01)[0]:
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: its answer is waiting
            sent += len(chunk)
        return _status_of(sock), sent


def test_a_declared_oversized_body_gets_413_without_the_body_being_sent(live_server, sources):
    from django.conf import settings

    status, seconds = declared_too_long(
        live_server.url, sources["github"], settings.WEBHOOK_MAX_BYTES
    )

    print(
        f"\nlive server: Content-Length over the limit, 12 bytes sent: {status} in {seconds:.3f} s"
    )
    assert status == 413
    assert seconds < ANSWER_WITHIN
    assert not RawEvent.objects.exists()


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """gunicorn (as ``make run`` starts it) on this test's database, WEBHOOK_MAX_BYTES 64 KiB."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = process_env(DATABASE_URL=database_url, WEBHOOK_MAX_BYTES=str(64 * 1024), DEBUG="false")
    server = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "gunicorn"),
            "portal.wsgi:application",
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"),
            *("--worker-class", "gthread"),
        ],
        cwd=os.getcwd(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            requests.get(f"{base_url}/healthz", timeout=5)
            break
        except requests.ConnectionError:
            log = (tmp_path / "gunicorn.log").read_text()
            assert server.poll() is None and time.monotonic() < deadline, log
            time.sleep(0.2)
    yield base_url, 64 * 1024
    server.terminate()
    server.wait(timeout=30)


def test_gunicorn_refuses_oversized_bodies_before_reading_them(gunicorn, org, service):
    base_url, limit = gunicorn
    source = source_for(KINDS["github"], org.users["ada"])

    status, seconds = declared_too_long(base_url, source, limit)
    chunked_status, sent = chunked_past_the_limit(base_url, source, limit)

    print(
        f"\ngunicorn: Content-Length over the limit: {status} in {seconds:.3f} s; "
        f"endless chunked body: {chunked_status} after {sent} bytes sent (limit {limit})"
    )
    assert (status, chunked_status) == (413, 413)
    assert seconds < ANSWER_WITHIN
    assert sent < 20 * limit  # answered while the body was still coming, not at its end
    assert not RawEvent.objects.exists()


def test_gunicorn_takes_a_chunked_delivery_under_the_limit(gunicorn, org, service):
    """Reading a chunked body ourselves must not lose the one that fits."""
    base_url, _ = gunicorn
    kind = KINDS["github"]
    source = source_for(kind, org.users["ada"])
    body = kind.body()

    def pieces():
        yield from (body[i : i + 1000] for i in range(0, len(body), 1000))

    response = requests.post(
        f"{base_url}/webhooks/github/{source.slug}/",
        data=pieces(),  # a generator: requests sends it chunked, with no Content-Length
        headers={**kind.headers(body), "Content-Type": "application/json"},
        timeout=30,
    )

    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    assert RawEvent.objects.filter(source=source).count() == 1
