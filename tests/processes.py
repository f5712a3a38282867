"""Environment for the real processes some tests start (manage.py serve, manage.py check)."""

from __future__ import annotations

import os
import subprocess
import sys

# Set for the test process only (by the suite or the browser harness), never for a real server.
TEST_ONLY_VARIABLES = frozenset({"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"})


def process_env(*, drop: frozenset[str] = frozenset(), **overrides: str) -> dict[str, str]:
    """This process's environment without test-only variables (and ``drop``), plus overrides."""
    removed = TEST_ONLY_VARIABLES | drop
    return {**{k: v for k, v in os.environ.items() if k not in removed}, **overrides}


def run_stopping(command: list[str], *, timeout: int, **popen) -> subprocess.CompletedProcess:
    """``subprocess.run`` that stops a child running past ``timeout`` with SIGTERM first, so
    it stops the embedded servers it started (portal.embedded turns SIGTERM into a clean exit);
    ``subprocess.run`` would SIGKILL it and leave them running. Raises TimeoutExpired."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def manage(*args: str, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a real subprocess with this environment (less test-only variables)."""
    from django.conf import settings

    return run_stopping(
        [sys.executable, "manage.py", *args],
        timeout=timeout,
        cwd=settings.BASE_DIR,
        env=process_env(**env),
    )
