"""Load test: webhook intake and the main API reads at a stated rate against real gunicorn.

Issue 10: 10 minutes (``LOAD_SECONDS``, default 600) at 5 signed GitLab pipeline hooks/s plus
15 API reads/s from 10 tokens (``LOAD_WEBHOOKS_PER_SECOND``, ``LOAD_READS_PER_SECOND``), offered
by locust (``benchmarks/locustfile.py``, ``constant_throughput``, so the rate is fixed rather
than "as fast as it goes"). The server is what ``make run`` starts: gunicorn with 2 gthread
workers x 4 threads and a Celery worker normalising the deliveries, on a throwaway embedded
PostgreSQL and Redis holding the DORA data set at 1/20 scale (50,000 deployments, 250,000
pipeline runs).

Reported: p50/p99 latency and achieved rate (locust), every answer by status class (0 5xx
allowed), and every ``SAMPLE_SECONDS`` the web workers' RSS and open file descriptors and the
PostgreSQL connections. After the warm-up (the first fifth, at most 2 min) RSS must stay flat
(growth under ``MAX_RSS_GROWTH``) and the descriptors and connections must not climb: a leak
shows as a slope that a 10-minute run makes visible. The client shares the 2 cores with the
server, so latencies are an upper bound.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from benchmarks.webhook_intake import (
    FIXTURE,
    ROOT,
    _free_port,
    _server_pids,
    _still_running,
    _stop,
    _wait_until_serving,
    django_on,
)

LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "600"))
WARM_UP_SECONDS = min(120, LOAD_SECONDS // 5)
WEBHOOKS_PER_SECOND = int(os.environ.get("LOAD_WEBHOOKS_PER_SECOND", "5"))
READS_PER_SECOND = int(os.environ.get("LOAD_READS_PER_SECOND", "15"))
READER_TOKENS = 10
SAMPLE_SECONDS = 5
MAX_RSS_GROWTH = 0.10  # of the post-warm-up RSS
MAX_P99_MS = 2000
SECRET = "load-webhook-secret"  # noqa: S105 (a throwaway source on a throwaway database)


def _prepare() -> dict:
    """The data set, a GitLab source with a webhook secret and the readers' tokens."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from benchmarks.dora_metrics import _generate
    from pipelines.services import source_create
    from portal.models import Membership, Role, Service, Team
    from reporting.rollups import rebuild

    people = _generate(datetime.now(UTC), deployments=50_000, incidents=1_000, runs=250_000)
    rebuild()
    source = source_create(
        actor=None,
        kind="gitlab",
        name="Load GitLab",
        slug="load-gitlab",
        base_url="http://127.0.0.1:9/",  # never polled: only webhooks arrive
        repositories=[{"name": "gitlab-org/gitlab-test", "service": people["service"].slug}],
        webhook_secret=SECRET,
    )
    readers = []
    for n, team in enumerate(Team.objects.order_by("slug")[:READER_TOKENS]):
        user = get_user_model().objects.create(username=f"load-reader-{n}")
        # Half read as organisation-wide leads, half as members scoped to their own team.
        role, scope = (Role.LEAD, None) if n % 2 else (Role.MEMBER, team)
        Membership.objects.create(user=user, team=scope, role=role)
        service = Service.objects.filter(team=team).order_by("slug").first().slug
        reads = [
            ("GET /api/v1/services/", "/api/v1/services/"),
            ("GET /api/v1/services/?team=", f"/api/v1/services/?team={team.slug}"),
            ("GET /api/v1/deployments/?service=", f"/api/v1/deployments/?service={service}"),
            ("GET /api/v1/runs/", "/api/v1/runs/"),
            ("GET /api/v1/incidents/", "/api/v1/incidents/"),
            ("GET /api/v1/metrics/dora/", "/api/v1/metrics/dora/"),
            ("GET /api/v1/metrics/dora/?service=", f"/api/v1/metrics/dora/?service={service}"),
        ]
        readers.append({"token": Token.objects.create(user=user).key, "reads": reads})
    return {
        "hook": json.loads(FIXTURE.read_text()),
        "webhook_secret": SECRET,
        "webhook_path": f"/webhooks/gitlab/{source.slug}/",
        "readers": readers,
        "webhook_users": WEBHOOKS_PER_SECOND,
        "reader_users": READS_PER_SECOND,
    }


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _sample(web_pid: int, started: float) -> dict:
    """RSS (MB) and open descriptors of the web workers, and PostgreSQL's client connections."""
    from django.db import connection

    workers = _tree(web_pid)[1:]  # the master only supervises
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        )
        (pg_connections,) = cursor.fetchone()
    return {
        "t": time.monotonic() - started,
        "rss_mb": sum(w.memory_info().rss for w in workers) / 2**20,
        "fds": sum(w.num_fds() for w in workers),
        "pg": pg_connections - 1,  # less this sampler's own connection
    }


def _locust_summary(prefix: str) -> dict:
    with open(f"{prefix}_stats.csv") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    total = rows["Aggregated"]
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rate": float(total["Requests/s"]),
        "p50": float(total["50%"]),
        "p99": float(total["99%"]),
        "slowest": max(
            ((name, float(row["99%"])) for name, row in rows.items() if name != "Aggregated"),
            key=lambda item: item[1],
        ),
    }


def _start(command: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _drive(config: dict, env: dict, workdir: Path) -> tuple[dict, dict, list[dict]]:
    """Serve, offer the load for LOAD_SECONDS while sampling, stop; return the figures."""
    port = _free_port()
    bin_dir = Path(sys.executable).parent
    logs = {name: (workdir / f"{name}.log").open("w") for name in ("web", "worker", "locust")}
    web = _start(
        [
            str(bin_dir / "gunicorn"),
            "portal.wsgi:application",
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"),
            *("--worker-class", "gthread", "--graceful-timeout", "10"),
        ],
        env,
        logs["web"],
    )
    worker = _start(
        [
            *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--concurrency", "1"),
            *("--queues", "default,poll", "--without-gossip", "--without-mingle"),
        ],
        env,
        logs["worker"],
    )
    processes = [web, worker]
    try:
        host = f"http://127.0.0.1:{port}"
        _wait_until_serving(host + config["webhook_path"], web)
        users = config["webhook_users"] + config["reader_users"]
        prefix = str(workdir / "locust")
        locust = _start(
            [
                *(str(bin_dir / "locust"), "-f", str(ROOT / "benchmarks/locustfile.py")),
                *("--headless", "--users", str(users), "--spawn-rate", str(users), "--host", host),
                *("--run-time", f"{LOAD_SECONDS}s", "--stop-timeout", "5", "--csv", prefix),
                *("--only-summary", "--loglevel", "WARNING"),
            ],
            env
            | {
                "LOAD_CONFIG": json.dumps(config),
                "LOAD_STATUS_FILE": str(workdir / "statuses.json"),
            },
            logs["locust"],
        )
        processes.append(locust)
        started, samples = time.monotonic(), []
        while locust.poll() is None:
            samples.append(_sample(web.pid, started))
            if len(samples) % 12 == 0:
                last = samples[-1]
                print(f"{last['t']:.0f} s: web RSS {last['rss_mb']:.0f} MB, {last['pg']} pg")
            time.sleep(SAMPLE_SECONDS)
        if locust.returncode not in (0, 1):  # 1: some requests failed, judged below
            raise RuntimeError(f"locust exited with {locust.returncode}")
        statuses = json.loads((workdir / "statuses.json").read_text())
        return _locust_summary(prefix), statuses, samples
    finally:
        for process in reversed(processes):
            _stop(process)
        for log in logs.values():
            log.close()


def _growth(samples: list[dict], key: str) -> tuple[float, float]:
    """(value just after the warm-up, value at the end): medians of a few samples each."""
    settled = [s[key] for s in samples if s["t"] >= WARM_UP_SECONDS]
    head, tail = settled[:6], settled[-6:]
    return sorted(head)[len(head) // 2], sorted(tail)[len(tail) // 2]


def run() -> list[tuple[str, str, str, str]]:
    from portal import embedded

    servers = embedded.start(ephemeral=True)
    watched = _server_pids(servers)
    workdir = Path(tempfile.mkdtemp(prefix="flightdeck-load-"))
    try:
        env = django_on(servers)
        from django.db import connections

        from pipelines.models import RawEvent

        config = _prepare()
        connections.close_all()
        summary, statuses, samples = _drive(config, env, workdir)
        waiting = RawEvent.objects.filter(status=RawEvent.Status.PENDING).count()
        connections.close_all()
    finally:
        servers.stop()
    left = _still_running(watched)
    assert not left, f"processes still running after the load test: {left}"

    answers = sum(statuses.values())
    rss_start, rss_end = _growth(samples, "rss_mb")
    fds_start, fds_end = _growth(samples, "fds")
    pg_start, pg_end = _growth(samples, "pg")
    rss_growth = (rss_end - rss_start) / rss_start
    offered = WEBHOOKS_PER_SECOND + READS_PER_SECOND
    name = f"load, {LOAD_SECONDS} s at {offered} req/s"
    rows = [
        (
            name,
            "requests, achieved rate",
            f"{summary['requests']:,} ({summary['rate']:.1f} /s; {WEBHOOKS_PER_SECOND} webhooks "
            f"+ {READS_PER_SECOND} API reads offered)",
            f">= {0.95 * offered:.0f} /s",
        ),
        (
            name,
            "p50 / p99 latency (slowest p99)",
            f"{summary['p50']:.0f} / {summary['p99']:.0f} ms "
            f"({summary['slowest'][0]} {summary['slowest'][1]:.0f} ms)",
            f"p99 <= {MAX_P99_MS} ms",
        ),
        (
            name,
            "answers by class",
            ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())),
            "0 5xx, 0 errors",
        ),
        (
            name,
            f"web RSS after {WARM_UP_SECONDS} s warm-up -> end",
            f"{rss_start:.0f} -> {rss_end:.0f} MB ({rss_growth:+.1%})",
            f"< {MAX_RSS_GROWTH:+.0%}",
        ),
        (
            name,
            "web open fds / PostgreSQL connections, warm -> end",
            f"{fds_start:.0f} -> {fds_end:.0f} / {pg_start:.0f} -> {pg_end:.0f}",
            "not climbing",
        ),
        (name, "deliveries still waiting at the end", f"{waiting:,}", "-"),
    ]
    for row in rows:
        print(" | ".join(row))
    assert statuses.get("5xx", 0) == 0 and statuses.get("error", 0) == 0, statuses
    assert answers == statuses.get("2xx", 0), f"non-2xx answers: {statuses}"
    assert summary["rate"] >= 0.95 * offered, summary
    assert summary["p99"] <= MAX_P99_MS, summary
    assert rss_growth < MAX_RSS_GROWTH, (rss_start, rss_end)
    assert fds_end <= fds_start + 4 and pg_end <= pg_start + 2, (
        fds_start,
        fds_end,
        pg_start,
        pg_end,
    )
    return rows
