"""Ten minutes of webhook intake and API reads against gunicorn (issue 10; docs/reliability.md)."""

from __future__ import annotations

import os

import pytest

from tests.reliability.test_load import run_load_test

pytestmark = pytest.mark.soak


def test_ten_minutes_of_load_keep_latency_errors_and_memory_flat():
    seconds = int(os.environ.get("SOAK_LOAD_SECONDS", "600"))
    table = run_load_test(seconds)
    assert f"| load, {seconds} s at 40 req/s | answers by class | 2xx " in table
