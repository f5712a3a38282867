"""`make run` start-up: seconds from launch to a healthy /healthz, first run and second run.

Target (issue 2): under 180 s the first time (fresh data folder: initdb, migrate, demo data,
collectstatic), under 30 s after. The venv install is not included: it happens once per checkout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.error import URLError

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _time_to_healthy(home: Path, port: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(FLIGHTDECK_HOME=str(home), PORT=str(port))
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.monotonic() - started < 300:
            if process.poll() is not None:
                raise RuntimeError("manage.py serve exited before it was healthy")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        return time.monotonic() - started
            except (URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError("not healthy within 300 s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def run() -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory(prefix="flightdeck-bench-") as folder:
        home = Path(folder) / "home"
        first = _time_to_healthy(home, _free_port())
        second = _time_to_healthy(home, _free_port())
    return [
        ("make run start-up", "first run, fresh data folder", f"{first:.1f} s", "< 180 s"),
        ("make run start-up", "second run, same data", f"{second:.1f} s", "< 30 s"),
    ]
