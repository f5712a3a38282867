"""Ten minutes of webhook intake and API reads against gunicorn (issue 10; docs/reliability.md).

The load benchmark (benchmarks/load.py) runs in its own interpreter, with its own embedded
servers, and asserts its own targets: 0 5xx, the offered rate achieved, p99, web RSS flat after
the warm-up, descriptors and database connections not climbing. Its table is printed."""

from __future__ import annotations

import os
import sys

import pytest
from django.conf import settings

from tests.processes import process_env, run_stopping

pytestmark = pytest.mark.soak


def test_ten_minutes_of_load_keep_latency_errors_and_memory_flat():
    seconds = int(os.environ.get("SOAK_LOAD_SECONDS", "600"))
    # The child starts its own embedded servers: it must not inherit the suite's.
    env = process_env(drop=frozenset({"DATABASE_URL", "REDIS_URL"}), LOAD_SECONDS=str(seconds))
    result = run_stopping(
        [sys.executable, "-m", "benchmarks", "load"],
        timeout=seconds + 600,
        cwd=settings.BASE_DIR,
        env=env,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert f"| load, {seconds} s at 20 req/s | answers by class | 2xx " in result.stdout
