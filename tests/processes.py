"""Environment for the real processes some tests start (manage.py serve, manage.py check)."""

from __future__ import annotations

import os

# Set for the test process only (by the suite or the browser harness), never for a real server.
TEST_ONLY_VARIABLES = frozenset({"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"})


def process_env(*, drop: frozenset[str] = frozenset(), **overrides: str) -> dict[str, str]:
    """This process's environment without test-only variables (and ``drop``), plus overrides."""
    removed = TEST_ONLY_VARIABLES | drop
    return {**{k: v for k, v in os.environ.items() if k not in removed}, **overrides}
