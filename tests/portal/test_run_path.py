"""What `make run` does, for real: start the embedded servers, web, worker and beat in a data
folder of its own, answer /healthz, stop clean on a signal, and reuse the data the second time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError

import psutil
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

# Migrations and the demo (a year of history) come first; a busy 2-core runner needs the room.
STARTUP_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(home: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "FLIGHTDECK_HOME", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        FLIGHTDECK_HOME=str(home), PORT=str(port), WEB_CONCURRENCY="1", CELERY_CONCURRENCY="1"
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(port: int, process: subprocess.Popen, log: Path) -> dict:
    """/healthz's answer once it is up and `serve` has printed its banner (it polls /healthz on
    its own schedule, so it can be a moment behind us)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    health = None
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        if health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as got:
                    health = json.load(got)
            except (URLError, OSError):
                pass
        if health is not None and "Flightdeck is running" in log.read_text():
            return health
        time.sleep(0.5)
    raise AssertionError(f"not healthy after {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


def _server_pids(home: Path) -> list[int]:
    postgres_pid = int((home / "postgres" / "postmaster.pid").read_text().split()[0])
    redis_pid = int((home / "redis" / "redis.pid").read_text().strip())
    return [postgres_pid, redis_pid]


def _stop_and_check_nothing_left(process, signum, pids, log: Path) -> str:
    children = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    process.send_signal(signum)
    assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(psutil.pid_exists(p) for p in pids + children):
        time.sleep(0.2)
    left = [
        pid
        for pid in pids + children
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert left == [], f"still running after stop: {left}"
    return log.read_text()


def test_it_serves_a_healthy_portal_stops_clean_and_reuses_its_data(tmp_path):
    home, port = tmp_path / "home", _free_port()

    first = _serve(home, port, tmp_path / "first.log")
    health = _wait_healthy(port, first, tmp_path / "first.log")
    pids = _server_pids(home)
    output = _stop_and_check_nothing_left(first, signal.SIGTERM, pids, tmp_path / "first.log")

    assert health == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "beat": "ok",
    }
    assert f"Flightdeck is running at http://127.0.0.1:{port}/" in output
    assert "ada" in output and "Loading demo data" in output

    second = _serve(home, port, tmp_path / "second.log")
    _wait_healthy(port, second, tmp_path / "second.log")
    pids = _server_pids(home)
    output = _stop_and_check_nothing_left(second, signal.SIGINT, pids, tmp_path / "second.log")

    assert "Loading demo data" not in output, "the demo loads once; the second run reuses it"
