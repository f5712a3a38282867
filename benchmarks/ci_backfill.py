"""GitHub backfill: 10,000 completed workflow runs with 3 jobs each from a fake GitHub on loopback.

Target (issue 3): no more requests than the pages require (ratio reported), normalisation of at
least 1,000 runs/s, and the worker under 300 MB.

A fake GitHub API runs in a child process (so its CPU and memory are not the worker's) and serves
the runs newest first, 100 per page with ``Link: rel="next"``, honouring ``created=A..B`` and
``created=>=A`` with ``total_count``, so the connector splits the 90-day backfill into windows of
at most 1,000 runs. Payloads are the recorded PyGithub run and jobs (``tests/.../fixtures/github``,
about 12 kB a run and 2.5 kB a job) with ids and times varied. This process is the worker: it runs
``source_sync`` on a throwaway embedded PostgreSQL. Measured: wall time and runs stored per second;
requests counted by the server against the pages the data needs (list pages of each window the
connector listed, one jobs page per run, three empty lists; the probes that split a window of more
than 1,000 runs are shown apart); normalisation alone (``rawevents_process`` over every stored
event in batches of 500, after deleting the records and setting the events back to pending); peak
RSS of this process (``ru_maxrss``).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import resource
import socket
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

RUNS, JOBS_PER_RUN, PER_PAGE, SPREAD_DAYS = 10_000, 3, 100, 80
REPO = "acme/bench"
FIXTURES = Path(__file__).resolve().parent.parent / "tests/pipelines/connectors/fixtures/github"
FIRST_RUN_ID = 7_000_000_000


def _recorded(name: str, record: int) -> dict:
    """The response body of record ``record`` of a PyGithub replay (11 lines a record)."""
    lines = (FIXTURES / name).read_text().split("\n")
    return json.loads(lines[(record - 1) * 11 + 9])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- the fake GitHub (child process) ------------------------------------------------------------


def _serve(ready, now: datetime) -> None:
    run_template = _recorded("rest-list-workflow-runs-created-filter.replay.pygithub.txt", 2)[
        "workflow_runs"
    ][0]
    job_template = _recorded("rest-list-jobs-for-run.replay.pygithub.txt", 1)["jobs"][0]
    step = timedelta(days=SPREAD_DAYS) / RUNS
    # Index 0 is the newest run; only (id, created) are kept, payloads are built per request.
    created = [(now - timedelta(hours=1) - i * step).replace(microsecond=0) for i in range(RUNS)]
    ids = {FIRST_RUN_ID + RUNS - i: i for i in range(RUNS)}
    counts = {"requests": 0, "list_pages": 0, "jobs_pages": 0, "other": 0}
    windows: dict[str, int] = {}  # created= filter asked -> total_count answered

    def run(i: int) -> dict:
        run_id, at = FIRST_RUN_ID + RUNS - i, created[i]
        return run_template | {
            "id": run_id,
            "run_number": RUNS - i,
            "status": "completed",
            "conclusion": "failure" if i % 7 == 0 else "success",
            "head_sha": f"{run_id:040x}",
            "created_at": _stamp(at),
            "run_started_at": _stamp(at + timedelta(seconds=5)),
            "updated_at": _stamp(at + timedelta(minutes=4)),
            "html_url": f"https://github.com/{REPO}/actions/runs/{run_id}",
        }

    def jobs(i: int) -> list[dict]:
        run_id, at = FIRST_RUN_ID + RUNS - i, created[i]
        return [
            job_template
            | {
                "id": run_id * 10 + k,
                "run_id": run_id,
                "name": f"job {k}",
                "created_at": _stamp(at),
                "started_at": _stamp(at + timedelta(seconds=10)),
                "completed_at": _stamp(at + timedelta(minutes=3)),
                "html_url": f"https://github.com/{REPO}/actions/runs/{run_id}/job/{k}",
            }
            for k in range(JOBS_PER_RUN)
        ]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body go out in two writes: no Nagle wait between them
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: object, link: str = "") -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if link:
                self.send_header("Link", link)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            if url.path == "/__stats__":
                return self._send(200, counts | {"windows": windows})
            counts["requests"] += 1
            base = f"/repos/{REPO}/"
            if url.path == base + "actions/runs":
                counts["list_pages"] += 1
                return self._list(query)
            if found := re.fullmatch(rf"{base}actions/runs/(\d+)/jobs", url.path):
                counts["jobs_pages"] += 1
                i = ids.get(int(found.group(1)))
                if i is None:
                    return self._send(404, {"message": "Not Found"})
                return self._send(200, {"total_count": JOBS_PER_RUN, "jobs": jobs(i)})
            counts["other"] += 1
            if url.path in {base + "deployments", base + "pulls", base + "issues"}:
                return self._send(200, [])
            return self._send(404, {"message": "Not Found"})

        def _list(self, query: dict[str, str]) -> None:
            window = query.get("created", "")
            if window.startswith(">="):
                low, high = _parse(window[2:]), now + timedelta(days=1)
            else:
                low, high = (_parse(part) for part in window.split(".."))
            matching = [i for i, at in enumerate(created) if low <= at <= high]
            windows[window] = len(matching)
            page, size = int(query.get("page", 1)), int(query.get("per_page", 30))
            chosen = matching[(page - 1) * size : page * size]
            link = ""
            if page * size < len(matching):
                following = urlencode(query | {"page": page + 1})
                host, port = self.server.server_address[:2]
                link = f'<http://{host}:{port}{self.path.split("?")[0]}?{following}>; rel="next"'
            body = {"total_count": len(matching), "workflow_runs": [run(i) for i in chosen]}
            self._send(200, body, link)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.send(server.server_address[1])
    server.serve_forever()


def _stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats__", timeout=10) as response:
        return json.load(response)


# --- the worker (this process) ------------------------------------------------------------------


def run() -> list[tuple[str, str, str, str]]:
    now = datetime.now(UTC).replace(microsecond=0)
    receive, send = multiprocessing.Pipe(duplex=False)
    fake = multiprocessing.get_context("fork").Process(target=_serve, args=(send, now), daemon=True)
    fake.start()
    servers = None
    try:
        if not receive.poll(30):
            raise RuntimeError("the fake GitHub did not start")
        port = receive.recv()
        from portal import embedded

        servers = embedded.start(ephemeral=True)
        servers.export()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        os.environ["FLIGHTDECK_HOME"] = str(servers.home)
        return _measure(port)
    finally:
        fake.terminate()
        fake.join(10)
        if servers is not None:
            servers.stop()


def _measure(port: int) -> list[tuple[str, str, str, str]]:
    import django

    django.setup()
    from django.core.management import call_command

    from pipelines.ingest import rawevents_process
    from pipelines.models import JobRun, PipelineRun, RawEvent, SyncRun
    from pipelines.services import source_create
    from pipelines.sync import BATCH_SIZE, source_sync
    from portal.models import Service, Team

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="Bench", slug="bench")
    Service.objects.create(team=team, name="Bench service", slug="bench-service")
    source = source_create(
        actor=None,
        kind="github",
        name="Bench GitHub",
        base_url=f"http://127.0.0.1:{port}/",
        repositories=[{"name": REPO, "service": "bench-service"}],
        token="bench-token",  # noqa: S106 (the fake server ignores it)
    )
    started = time.perf_counter()
    sync_run = source_sync(source_id=source.pk, trigger="command")
    wall = time.perf_counter() - started
    served = _stats(port)
    assert sync_run is not None and sync_run.status == SyncRun.Status.SUCCESS, sync_run.message
    assert sync_run.requests == served["requests"], (sync_run.requests, served)
    runs, jobs = PipelineRun.objects.count(), JobRun.objects.count()
    assert (runs, jobs) == (RUNS, RUNS * JOBS_PER_RUN), (runs, jobs)
    assert not JobRun.objects.filter(run__isnull=True).exists()

    # Windows answered with more than 1,000 runs are split (one probe each); the rest are listed.
    leaves = [n for n in served["windows"].values() if n <= 1000]
    probes = len(served["windows"]) - len(leaves)
    list_pages = sum(max(1, math.ceil(n / PER_PAGE)) for n in leaves)
    required = list_pages + RUNS + 3
    made = served["requests"]
    rss_sync = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # Normalisation alone: every stored event again, from no records, as the sync batches it.
    JobRun.objects.all().delete()
    PipelineRun.objects.all().delete()
    RawEvent.objects.filter(source=source).update(status=RawEvent.Status.PENDING, attempts=0)
    ids = list(RawEvent.objects.filter(source=source).order_by("id").values_list("id", flat=True))
    started = time.perf_counter()
    for start in range(0, len(ids), BATCH_SIZE):
        counts = rawevents_process(ids=ids[start : start + BATCH_SIZE])
        assert counts["processed"] == len(ids[start : start + BATCH_SIZE]), counts
    normalise = time.perf_counter() - started
    assert (PipelineRun.objects.count(), JobRun.objects.count()) == (RUNS, RUNS * JOBS_PER_RUN)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = f"backfill {RUNS:,} GitHub runs x {JOBS_PER_RUN} jobs"
    return [
        (name, "sync wall time, runs stored/s", f"{wall:.1f} s, {RUNS / wall:,.0f} runs/s", "-"),
        (
            name,
            "requests made / pages required",
            f"{made:,} / {required:,} = {made / required:.3f} "
            f"({served['list_pages']} list pages incl. {probes} window-split probes, "
            f"{len(leaves)} windows; {served['jobs_pages']:,} jobs pages; {served['other']} other)",
            "ratio ~1.00",
        ),
        (
            name,
            f"normalise {len(ids):,} raw events (rawevents_process)",
            f"{normalise:.1f} s, {RUNS / normalise:,.0f} runs/s",
            ">= 1,000 runs/s",
        ),
        (name, "worker peak RSS", f"{rss_sync:.0f} MB after sync, {rss:.0f} MB at end", "< 300 MB"),
    ]
