"""Webhook intake: signed GitLab pipeline deliveries per second through the real web server.

Target (issue 3): at least 300 deliveries/s on loopback, with no error.

gunicorn serves ``portal.wsgi`` as ``make run`` does (2 gthread workers, 4 threads each) on a
throwaway embedded PostgreSQL and Redis. A GitLab source with a webhook secret receives distinct
deliveries of the recorded pipeline hook (``object_attributes.id`` and ``Idempotency-Key`` vary,
verified by the ``X-Gitlab-Token`` header) from 16 client threads with keep-alive sessions. Each
is verified, stored as a RawEvent and queued to Redis (no Celery worker runs: the messages wait
in Redis and are flushed at the end). Measured: deliveries/s over the timed deliveries, p50/p99
latency per request at the client, non-2xx answers, and the RawEvents stored afterwards. The
client shares the machine (and its cores) with the server, so the figure is a lower bound.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/pipelines/connectors/fixtures/gitlab/webhook-pipeline-hook.go-gitlab.json"
DELIVERIES, WARM_UP, CLIENTS = 3000, 100, 16
SECRET = "bench-webhook-secret"  # noqa: S105 (a throwaway source on a throwaway database)
SLUG = "bench-gitlab"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _bodies(count: int, offset: int) -> list[bytes]:
    payload = json.loads(FIXTURE.read_text())
    bodies = []
    for n in range(offset, offset + count):
        payload["object_attributes"] = payload["object_attributes"] | {"id": 1_000_000 + n}
        bodies.append(json.dumps(payload).encode())
    return bodies


def _send_all(url: str, bodies: list[bytes]) -> tuple[float, list[float], list[int]]:
    """POST every body from CLIENTS threads; return (seconds, latencies in ms, statuses)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    pending = iter(bodies)

    def client() -> None:
        session = requests.Session()
        headers = {
            "Content-Type": "application/json",
            "X-Gitlab-Event": "Pipeline Hook",
            "X-Gitlab-Token": SECRET,
        }
        while True:
            with lock:
                body = next(pending, None)
            if body is None:
                break
            began = time.perf_counter()
            try:
                response = session.post(
                    url,
                    data=body,
                    headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
                    timeout=30,
                )
                status = response.status_code
            except requests.RequestException:
                status = 0
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(status)
        session.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def _wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)  # 405 (POST only) means a worker answers
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _server_pids(servers) -> list[int]:
    pids = []
    for pid_file in (servers.home / "postgres/postmaster.pid", servers.home / "redis/redis.pid"):
        if pid_file.exists():
            pids.append(int(pid_file.read_text().split()[0]))
    return pids


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their descendants."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _still_running(pids: list[int], timeout: float = 10) -> list[int]:
    """The pids still alive (zombies waiting for init to reap them count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    left.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def django_on(servers) -> dict[str, str]:
    """Point this process at ``servers``, migrate them in a child, set Django up; return the
    environment for the server processes the benchmark starts."""
    servers.export()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["FLIGHTDECK_HOME"] = str(servers.home)
    env = dict(os.environ)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    return env


def run() -> list[tuple[str, str, str, str]]:
    from portal import embedded

    servers = embedded.start(ephemeral=True)
    gunicorn = log = None
    watched: list[int] = _server_pids(servers)  # every process this run starts, to check after
    try:
        env = django_on(servers)
        from django.db import connections

        from pipelines.models import RawEvent
        from pipelines.services import source_create

        source = source_create(
            actor=None,
            kind="gitlab",
            name="Bench GitLab",
            slug=SLUG,
            base_url="http://127.0.0.1:9/",  # never contacted: no sync runs
            repositories=[{"name": "gitlab-org/gitlab-test", "service": "bench"}],
            webhook_secret=SECRET,
        )
        connections.close_all()

        port = _free_port()
        log = tempfile.NamedTemporaryFile(prefix="flightdeck-bench-gunicorn-", suffix=".log")  # noqa: SIM115
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "portal.wsgi:application",
                *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"),
                *("--worker-class", "gthread", "--graceful-timeout", "10"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        watched.append(gunicorn.pid)
        url = f"http://127.0.0.1:{port}/webhooks/gitlab/{SLUG}/"
        _wait_until_serving(url, gunicorn)
        watched += [child.pid for child in psutil.Process(gunicorn.pid).children(recursive=True)]

        _, _, warm_statuses = _send_all(url, _bodies(WARM_UP, 0))
        bodies = _bodies(DELIVERIES, WARM_UP)
        roots = {"web": [gunicorn.pid], "PostgreSQL": watched[:1], "Redis": watched[1:2]}
        before, client_before = {k: _cpu(v) for k, v in roots.items()}, time.process_time()
        seconds, latencies, statuses = _send_all(url, bodies)
        cpu = {k: (_cpu(v) - before[k]) * 1000 / DELIVERIES for k, v in roots.items()}
        cpu["client"] = (time.process_time() - client_before) * 1000 / DELIVERIES
        errors = sum(1 for status in warm_statuses + statuses if not 200 <= status < 300)
        stored = RawEvent.objects.filter(source=source).count()
        connections.close_all()
        import redis

        redis.Redis.from_url(servers.redis_url).flushdb()
        if errors:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
    finally:
        if gunicorn is not None:
            _stop(gunicorn)
        if log is not None:
            log.close()
        servers.stop()
    left = _still_running(watched)
    assert not left, f"processes still running after the benchmark: {left}"
    assert stored == WARM_UP + DELIVERIES, (stored, WARM_UP + DELIVERIES)

    cuts = statistics.quantiles(latencies, n=100)
    name = f"webhook intake, {DELIVERIES:,} GitLab pipeline hooks, {CLIENTS} clients"
    return [
        (name, "deliveries/s", f"{DELIVERIES / seconds:,.0f} /s ({seconds:.1f} s)", ">= 300 /s"),
        (name, "p50 / p99 latency", f"{statistics.median(latencies):.1f} / {cuts[98]:.1f} ms", "-"),
        (
            name,
            "CPU per delivery (2 cores shared)",
            ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items()),
            "-",
        ),
        (
            name,
            "non-2xx answers, RawEvents stored",
            f"{errors} errors, {stored:,} stored of {WARM_UP + DELIVERIES:,} sent",
            "0 errors, all stored",
        ),
    ]
