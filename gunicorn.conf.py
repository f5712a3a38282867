"""gunicorn settings every Flightdeck web server shares (gunicorn reads ./gunicorn.conf.py).

`make run` (manage.py serve), the Dockerfile and docker-compose start gunicorn in this folder.

Prometheus multiprocess mode: each gunicorn worker counts its own requests, and a scrape lands
on one worker. With PROMETHEUS_MULTIPROC_DIR set before the workers start, every worker writes
its counters to files there and /metrics sums them all (docs/observability.md). The folder is
made fresh for each server start: counters restart at zero, which Prometheus handles as a
restart. Nothing from prometheus_client is imported here: it picks its mode at import time, and
this module runs in the master before the variable is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_made_here: str | None = None


def on_starting(server) -> None:
    global _made_here
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        # The operator's folder: clear what a previous server left, or its counts add up.
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    else:
        folder = _made_here = tempfile.mkdtemp(prefix="flightdeck-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # inherited by the forked workers


def child_exit(server, worker) -> None:
    # Drops the dead worker's live gauges; its counters stay, so totals never go down.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _made_here:
        shutil.rmtree(_made_here, ignore_errors=True)
