"""Environment for the real processes some tests start (manage.py serve, manage.py check)."""

from __future__ import annotations

import os

# Set for the test process only (by the suite or the browser harness), never for a real server.
TEST_ONLY_VARIABLES = frozenset({"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"})


def process_env(*, drop: frozenset[str] = frozenset(), **overrides: str) -> dict[str, str]:
    """This process's environment without test-only variables (and ``drop``), plus overrides."""
    removed = TEST_ONLY_VARIABLES | drop
    return {**{k: v for k, v in os.environ.items() if k not in removed}, **overrides}


def manage(*args: str, timeout: int = 120, **env: str):
    """Run ``manage.py`` in a real subprocess with this environment (less test-only variables)."""
    import subprocess
    import sys

    from django.conf import settings

    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=process_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
