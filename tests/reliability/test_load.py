"""The load test (benchmarks/load.py) against real gunicorn, briefly: `make soak` runs it for
10 minutes (tests/soak/test_load.py). It asserts its own targets (0 5xx, achieved rate, p99, RSS
flat after warm-up, descriptors and connections not climbing) and prints its figures."""

from __future__ import annotations

import sys

import pytest
from django.conf import settings

from tests.processes import process_env, run_stopping

pytestmark = pytest.mark.slow


def run_load_test(seconds: int) -> str:
    """Run the load benchmark in its own interpreter (it starts its own servers); its table."""
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
    return result.stdout


def test_a_short_load_run_meets_its_targets():
    table = run_load_test(30)
    assert "| load, 30 s at 40 req/s | answers by class | 2xx " in table
