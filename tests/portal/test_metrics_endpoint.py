"""GET /metrics: what Prometheus scrapes, read from the real Postgres and Redis, and who may."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from pipelines.models import CISource, RawEvent, SyncRun
from tests.processes import manage, process_env

TOKEN = "scrape-" + "k" * 32


def _samples(response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.content.decode())
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }


def _value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scrape(client, settings):
    """``scrape()``: the parsed samples of one scrape, authorised by the metrics token."""
    settings.METRICS_TOKEN = TOKEN

    def run() -> dict:
        return _samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))

    return run


def _source(slug: str, kind: str = CISource.Kind.GITHUB) -> CISource:
    return CISource.objects.create(kind=kind, name=slug.title(), slug=slug)


def _finished_run(source, *, seconds: float, status=SyncRun.Status.SUCCESS, ago=timedelta()):
    finished = timezone.now() - ago
    run = SyncRun.objects.create(source=source, status=status)
    SyncRun.objects.filter(pk=run.pk).update(
        queued_at=finished - timedelta(seconds=seconds + 1),
        started_at=finished - timedelta(seconds=seconds),
        finished_at=finished,
    )
    return run


# --- requests ----------------------------------------------------------------------------------


def test_a_request_counts_under_its_route_name_never_its_path(client_for, service, scrape):
    lee = client_for("lee")
    before = scrape()

    assert lee.get(f"/services/{service.slug}/").status_code == 200
    assert lee.get("/no/such/page/").status_code == 404
    after = scrape()

    counted = "flightdeck_http_requests_total"
    labels = {"method": "GET", "route": "service_detail", "status": "200"}
    assert _value(after, counted, **labels) - _value(before, counted, **labels) == 1
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert _value(after, counted, **unmatched) - _value(before, counted, **unmatched) == 1
    timed = "flightdeck_http_request_duration_seconds_count"
    assert _value(after, timed, route="service_detail") > _value(
        before, timed, route="service_detail"
    )
    label_values = {value for _name, labels in after for _key, value in labels}
    assert not any(service.slug in value or "/no/such" in value for value in label_values)


def test_the_scrape_path_has_no_slash_and_the_dora_page_keeps_its_own(client_for, scrape):
    dora = client_for("lee").get("/metrics/")
    samples = scrape()

    assert dora.status_code == 200 and b"<html" in dora.content
    assert ("flightdeck_collector_up", frozenset({("store", "postgres")})) in samples
    # The pattern matches as it is: APPEND_SLASH must not send scrapers to the dashboard.
    assert client_for("lee").get("/metrics").status_code == 200


# --- what the rows say -------------------------------------------------------------------------


def test_sync_runs_appear_per_source_with_duration_and_outcome(db, scrape):
    github = _source("github-main")
    _finished_run(github, seconds=300, ago=timedelta(hours=30))  # outside the 24 h window
    _finished_run(github, seconds=12, status=SyncRun.Status.FAILED, ago=timedelta(hours=2))
    _finished_run(github, seconds=42, ago=timedelta(minutes=5))
    SyncRun.objects.create(source=github)  # queued, not started

    samples = scrape()

    assert _value(
        samples, "flightdeck_sync_last_duration_seconds", source="github-main", status="success"
    ) == pytest.approx(42)
    runs = {
        status: _value(samples, "flightdeck_sync_runs_24h", source="github-main", status=status)
        for status in ("success", "failed", "queued")
    }
    assert runs == {"success": 1, "failed": 1, "queued": 1}
    histogram = "flightdeck_sync_duration_seconds_24h"
    assert _value(samples, histogram + "_bucket", source="github-main", le="15.0") == 1
    assert _value(samples, histogram + "_bucket", source="github-main", le="60.0") == 2
    assert _value(samples, histogram + "_gcount", source="github-main") == 2
    assert _value(samples, histogram + "_gsum", source="github-main") == pytest.approx(54)
    assert _value(samples, "flightdeck_source_info", source="github-main", kind="github") == 1


def test_raw_events_waiting_are_counted_with_the_age_of_the_oldest(db, scrape):
    source = _source("jenkins-ci", kind=CISource.Kind.JENKINS)
    for number, minutes_ago in enumerate([45, 3, 1]):
        event = RawEvent.objects.create(
            source=source, origin="webhook", kind="build", delivery_id=f"d{number}", payload={}
        )
        RawEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    RawEvent.objects.create(
        source=source, origin="webhook", kind="build", delivery_id="done", payload={},
        status=RawEvent.Status.PROCESSED,
    )  # fmt: skip

    samples = scrape()

    assert _value(samples, "flightdeck_raw_events_pending", source="jenkins-ci") == 3
    oldest = _value(
        samples, "flightdeck_raw_events_oldest_pending_age_seconds", source="jenkins-ci"
    )
    assert 45 * 60 <= oldest < 46 * 60


def test_queue_depth_is_read_from_the_real_broker(db, scrape):
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    before = scrape()
    # A message as kombu stores it: a list named after the queue, one per priority level.
    broker.lpush("poll", b'{"body": "a sync"}')
    broker.lpush("default\x06\x163", b'{"body": "a rollup"}')
    broker.hset("unacked", "delivery-tag-1", b'{"body": "running"}')
    try:
        after = scrape()
    finally:
        broker.lrem("poll", 1, b'{"body": "a sync"}')
        broker.lrem("default\x06\x163", 1, b'{"body": "a rollup"}')
        broker.hdel("unacked", "delivery-tag-1")

    depth = "flightdeck_celery_queue_length"
    for queue in ("poll", "default"):
        assert _value(after, depth, queue=queue) - _value(before, depth, queue=queue) == 1
    unacked = "flightdeck_celery_unacked_tasks"
    assert _value(after, unacked) - _value(before, unacked) == 1


def test_a_broker_outage_leaves_the_database_metrics_standing(db, scrape, settings):
    _finished_run(_source("gitlab-ci", kind=CISource.Kind.GITLAB), seconds=7)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    samples = scrape()

    assert _value(samples, "flightdeck_collector_up", store="redis") == 0
    assert _value(samples, "flightdeck_collector_up", store="postgres") == 1
    assert _value(
        samples, "flightdeck_sync_last_duration_seconds", source="gitlab-ci", status="success"
    ) == pytest.approx(7)


def test_a_scrape_costs_the_same_few_queries_whatever_the_number_of_sources(db, scrape):
    def queries_and_ms() -> tuple[int, float]:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            scrape()
            return len(captured), (time.perf_counter() - started) * 1000

    _finished_run(_source("only-one"), seconds=3)
    few, _ = queries_and_ms()
    sources = 50
    for number in range(sources):
        source = _source(f"source-{number:02d}")
        for run in range(10):
            _finished_run(source, seconds=run * 7, ago=timedelta(minutes=run * 30))
    many, took = queries_and_ms()

    assert many == few
    print(f"\n/metrics scrape with {sources + 1} sources, {sources * 10 + 1} sync runs: "
          f"{took:.0f} ms, {many} queries")  # fmt: skip


# --- who may scrape ----------------------------------------------------------------------------


@pytest.fixture
def locked(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_OPEN_ON_LOOPBACK = False


def test_anonymous_scrapes_are_refused_with_401(db, client, locked):
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")

    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert b"flightdeck_" not in missing.content + wrong.content + basic.content


def test_the_metrics_token_lets_a_scraper_in(db, client, locked):
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_no_token_configured_means_no_token_works(db, client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_OPEN_ON_LOOPBACK = False

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


@pytest.mark.parametrize(
    ("username", "status"),
    [("ada", 200), ("lee", 200), ("sam", 403), ("mo", 403), ("val", 403), ("kim", 403)],
)
def test_signed_in_leads_and_admins_may_look_others_may_not(client_for, locked, username, status):
    assert client_for(username).get("/metrics").status_code == status


def test_make_run_mode_opens_it_to_loopback_only(db, client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_OPEN_ON_LOOPBACK = True

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


SETTINGS_PROBE = (
    "from django.conf import settings as s; "
    "print(s.RUNS_ON_EMBEDDED_SERVERS, s.METRICS_OPEN_ON_LOOPBACK, s.LOG_FORMAT)"
)


def test_loopback_is_open_on_the_embedded_servers_only():
    # The suite runs on embedded servers of its own, like `make run`.
    embedded = manage("shell", "-c", SETTINGS_PROBE)
    # Settings never connect at import, so a host that does not exist is fine here.
    production = manage("shell", "-c", SETTINGS_PROBE, REDIS_URL="redis://redis.internal:6379/0")

    # The last line: Django's shell first says how many objects it imported.
    assert embedded.stdout.splitlines()[-1].split() == ["True", "True", "plain"], embedded.stderr
    assert production.stdout.splitlines()[-1].split() == ["False", "False", "json"]


# --- several gunicorn workers ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, **headers) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except HTTPError as error:
        return error.code, error.read()


def test_gunicorn_workers_counts_add_up_in_every_scrape(db, tmp_path):
    """gunicorn.conf.py turns on multiprocess mode: whichever worker answers the scrape, it
    reports the requests all workers served."""
    port, requests = _free_port(), 40
    parts = urlsplit(os.environ["DATABASE_URL"])
    test_database = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "portal.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "3"],
            cwd=django_settings.BASE_DIR,  # where gunicorn finds gunicorn.conf.py
            env=process_env(METRICS_TOKEN=TOKEN, DATABASE_URL=test_database),
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _get_or_none(base + "/healthz") is None:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        # The first /healthz above counted too: one more than the loop sends.
        for _ in range(requests - 1):
            _get(base + "/healthz")
        totals = set()
        for _ in range(6):
            status, body = _get(base + "/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200, body[:300]
            samples = {
                (s.name, frozenset(s.labels.items())): s.value
                for family in text_string_to_metric_families(body.decode())
                for s in family.samples
            }
            totals.add(
                sum(
                    value
                    for (name, labels), value in samples.items()
                    if name == "flightdeck_http_requests_total" and ("route", "healthz") in labels
                )
            )
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert totals == {requests}, log.read_text()[-3000:]
    print(f"\n{requests} requests over 3 gunicorn workers: 6 scrapes all report {requests}")


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)[0]
    except OSError:
        return None
