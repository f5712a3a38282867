"""API throttling on the shared Redis cache (ECOSYSTEM C7-13): two gunicorn servers of the
portal, one worker each, share one user's budget, so a client cannot double its rate by
landing on another worker. Webhooks are not throttled: CI vendors retry on 429 and pile up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests
from django.conf import settings
from rest_framework.authtoken.models import Token

from pipelines.services import source_create
from portal import crypto
from tests.processes import process_env

RATE = 100  # per minute
REQUESTS = 120
ONE_WORKER = ["--workers", "1", "--worker-class", "sync", "--graceful-timeout", "5"]
PIPELINE_HOOK = json.loads(
    (
        Path(__file__).parents[1]
        / "pipelines/connectors/fixtures/gitlab/webhook-pipeline-hook.go-gitlab.json"
    ).read_text()
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def encryption_key(monkeypatch) -> str:
    """One key for this process and the servers, so they can read the source's webhook secret."""
    key = crypto.new_key_entry("k1")
    monkeypatch.setenv("FLIGHTDECK_ENCRYPTION_KEYS", key)
    crypto.reset_key_cache()
    yield key
    crypto.reset_key_cache()


@pytest.fixture
def two_servers(transactional_db, tmp_path, encryption_key):
    """Base URLs of two gunicorn servers (one sync worker each) on the test database and Redis,
    with the production throttle settings at RATE/min."""
    database = settings.DATABASES["default"]["NAME"]  # test_<name> during the test
    url = urlsplit(os.environ["DATABASE_URL"])
    env = process_env(
        DATABASE_URL=urlunsplit(url._replace(path="/" + quote(database))),
        REDIS_URL=settings.REDIS_URL,
        API_THROTTLE_RATE=f"{RATE}/min",
        FLIGHTDECK_HOME=str(tmp_path / "home"),
        FLIGHTDECK_ENCRYPTION_KEYS=encryption_key,
        SECRET_KEY=os.environ["SECRET_KEY"],
        DATABASE_CONN_MAX_AGE="0",  # no connection outlives the test database
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    servers = []
    for number in (1, 2):
        port = _free_port()
        log = tmp_path / f"gunicorn-{number}.log"
        process = subprocess.Popen(
            [gunicorn, "portal.wsgi:application", "--bind", f"127.0.0.1:{port}", *ONE_WORKER],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        servers.append((process, f"http://127.0.0.1:{port}", log))
    try:
        for process, base, log in servers:
            _wait_until_serving(base, process, log)
        yield [base for _, base, _ in servers]
    finally:
        for process, _, _ in servers:
            process.send_signal(signal.SIGTERM)
        for process, _, _ in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            requests.get(base + "/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")


def test_two_workers_share_one_users_budget_and_webhooks_are_not_throttled(
    two_servers, org, service
):
    token = Token.objects.create(user=org.users["mo"])
    project = PIPELINE_HOOK["project"]["path_with_namespace"]
    gitlab = source_create(
        actor=org.users["ada"],
        kind="gitlab",
        name="GitLab",
        base_url="http://127.0.0.1:9/",  # never contacted: no worker runs
        webhook_secret="s3cret",
        repositories=[{"name": project, "service": service.slug}],
    )
    # One keep-alive session per server: requests alternate between the two workers.
    sessions = [requests.Session() for _ in two_servers]
    for session in sessions:
        session.headers["Authorization"] = f"Token {token.key}"

    started = time.monotonic()
    answers = []
    for number in range(REQUESTS):
        which = number % 2
        response = sessions[which].get(two_servers[which] + "/api/v1/teams/", timeout=10)
        answers.append((which, response.status_code, response.headers.get("Retry-After")))
    seconds = time.monotonic() - started

    ok = [which for which, status, _ in answers if status == 200]
    limited = [retry for _, status, retry in answers if status == 429]
    print(
        f"\n{REQUESTS} requests in {seconds:.1f} s at user {RATE}/min across 2 gunicorn "
        f"workers: {len(ok)} 2xx (worker 1: {ok.count(0)}, worker 2: {ok.count(1)}), "
        f"{len(limited)} 429 with Retry-After"
    )
    assert seconds < 60, "the window must not slide during the run"
    assert len(ok) == RATE and len(limited) == REQUESTS - RATE
    assert ok.count(0) == ok.count(1) == RATE // 2  # each worker saw the other's requests
    assert all(retry and int(retry) > 0 for retry in limited)
    assert [status for _, status, _ in answers[:RATE]] == [200] * RATE

    # The same client, its API budget spent, delivers webhooks: none is refused with 429.
    hooks = [
        requests.post(
            two_servers[number % 2] + f"/webhooks/gitlab/{gitlab.slug}/",
            data=json.dumps(PIPELINE_HOOK),
            headers={
                "Content-Type": "application/json",
                "X-Gitlab-Token": "s3cret",
                "X-Gitlab-Event": "Pipeline Hook",
                "Idempotency-Key": f"throttle-{number}",
            },
            timeout=10,
        ).status_code
        for number in range(REQUESTS)
    ]
    print(f"{REQUESTS} webhook deliveries after the API budget ran out: {hooks.count(202)} 202")
    assert hooks == [202] * REQUESTS
