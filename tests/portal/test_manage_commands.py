"""manage.py with no environment attaches to the embedded servers and stops what it started;
with DATABASE_URL and REDIS_URL set it starts nothing."""

from __future__ import annotations

import sys

import psutil
import pytest
from django.conf import settings

from tests.processes import manage, process_env, run_stopping

pytestmark = pytest.mark.slow


def _embedded_processes(home) -> list[psutil.Process]:
    return [
        process
        for process in psutil.process_iter(["cmdline"])
        if any(str(home) in part for part in (process.info["cmdline"] or []))
    ]


def test_a_lone_command_starts_the_servers_and_stops_them_at_exit(tmp_path):
    home = tmp_path / "home"
    env = process_env(drop=frozenset({"DATABASE_URL", "REDIS_URL"}), FLIGHTDECK_HOME=str(home))

    result = run_stopping(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        timeout=300,  # initdb and every migration, on a busy 2-core runner
    )

    assert result.returncode == 0, result.stderr
    assert "Applying portal.0001_initial... OK" in result.stdout
    assert (home / "postgres" / "PG_VERSION").exists()
    assert _embedded_processes(home) == []
    assert not (home / "postgres" / "postmaster.pid").exists()


def test_configured_servers_are_used_and_nothing_embedded_starts(tmp_path):
    home = tmp_path / "home"

    probe = "from django.db import connection as c; c.ensure_connection(); print(c.settings_dict)"

    result = manage("shell", "-c", probe, FLIGHTDECK_HOME=str(home))

    assert result.returncode == 0, result.stderr
    assert repr(settings.DATABASES["default"]["HOST"]) in result.stdout
    assert not (home / "postgres").exists()
    assert not (home / "redis").exists()
