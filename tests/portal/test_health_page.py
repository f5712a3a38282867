"""The health page (/health/): stores, workers, beat, queues and every source's last sync."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pytest
import redis
from celery.signals import beat_init
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import portal.celery
from pipelines.models import CISource, RawEvent, SyncRun
from pipelines.tasks import rawevents_process_task
from portal.celery import BEAT_TICK_KEY, HEARTBEAT_KEY_PREFIX


@pytest.fixture
def broker():
    """The real Redis with no heartbeat and no beat tick in it; cleaned again afterwards."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)

    def clean():
        for key in client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*"):
            client.delete(key)
        client.delete(BEAT_TICK_KEY)

    clean()
    yield client
    clean()


def _worker_beat(broker, name: str, seconds_ago: float = 0) -> None:
    # As portal.celery.Heartbeat writes it: the time of the beat, expiring by itself.
    broker.set(HEARTBEAT_KEY_PREFIX + name, f"{time.time() - seconds_ago:.3f}", ex=30)


def _beat_tick(broker, seconds_ago: float) -> None:
    broker.set(BEAT_TICK_KEY, f"{time.time() - seconds_ago:.3f}", ex=3600)


def _synced_source(*, slug: str, seconds: int, status: str, error: str = "") -> CISource:
    now = timezone.now()
    source = CISource.objects.create(kind=CISource.Kind.GITLAB, name=slug.title(), slug=slug)
    run = SyncRun.objects.create(source=source, status=status)
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=now - timedelta(minutes=3, seconds=seconds),
        finished_at=now - timedelta(minutes=3),
    )
    if error:
        CISource.objects.filter(pk=source.pk).update(last_error=error, last_error_at=now)
    return source


def test_it_shows_workers_beat_and_each_sources_last_sync(client_for, broker):
    _worker_beat(broker, "celery@worker-1", seconds_ago=4)
    _beat_tick(broker, seconds_ago=12)
    _synced_source(slug="gitlab-ok", seconds=95, status=SyncRun.Status.SUCCESS)
    broken = _synced_source(
        slug="gitlab-broken", seconds=2, status=SyncRun.Status.FAILED,
        error="GitLab answered 401 Unauthorized: check the token",
    )  # fmt: skip
    for number in range(3):
        RawEvent.objects.create(
            source=broken, origin="webhook", kind="pipeline", delivery_id=f"d{number}", payload={}
        )

    response = client_for("lee").get("/health/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "all ok" in page
    assert "celery@worker-1" in page and re.search(r"beat 4\.\d s ago", page)
    assert re.search(r"last tick 1[23] s ago", page)
    assert "Gitlab-Ok" in page and "1 min 35 s" in page
    assert "GitLab answered 401 Unauthorized: check the token" in page
    assert "<strong>3</strong>" in page  # events waiting for gitlab-broken
    assert response.context["checks"] == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "beat": "ok",
    }


def test_it_says_what_is_missing_with_no_worker_and_no_beat(client_for, broker):
    response = client_for("ada").get("/health/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "needs attention" in page
    assert "No worker has written a heartbeat in the last 30 s" in page
    assert "Beat has not ticked" in page
    assert "No CI or monitoring source yet" in page


def test_a_quiet_beat_is_reported_with_how_long_it_has_been(client_for, broker):
    _worker_beat(broker, "celery@worker-1")
    _beat_tick(broker, seconds_ago=7 * 60)

    response = client_for("lee").get("/health/")

    assert response.context["checks"]["beat"] == "error: no beat tick for 7 minutes"
    assert "No beat tick for 7 minutes" in response.content.decode()


def test_it_still_renders_while_the_broker_is_down(client_for, broker, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client_for("lee").get("/health/")

    assert response.status_code == 200
    assert response.context["checks"]["broker"].startswith("error")
    assert response.content.decode().count("Unknown while the broker is unreachable") == 3


@pytest.mark.parametrize(
    ("username", "status"),
    [("ada", 200), ("lee", 200), ("sam", 403), ("mo", 403), ("val", 403), ("kim", 403)],
)
def test_leads_and_admins_see_it_like_the_sources_page(client_for, broker, username, status):
    client = client_for(username)

    assert client.get("/health/").status_code == status
    assert client.get("/sources/").status_code == status
    in_nav = 'href="/health/"' in client.get("/").content.decode()
    assert in_nav is (status == 200)


def test_anonymous_visitors_are_sent_to_sign_in(db, client):
    response = client.get("/health/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_costs_the_same_queries_whatever_the_number_of_sources(client_for, broker):
    lee = client_for("lee")

    def queries_and_ms() -> tuple[int, float]:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            assert lee.get("/health/").status_code == 200
            return len(captured), (time.perf_counter() - started) * 1000

    _synced_source(slug="first", seconds=5, status=SyncRun.Status.SUCCESS)
    few, _ = queries_and_ms()
    sources = 40
    for number in range(sources):
        _synced_source(slug=f"source-{number:02d}", seconds=number, status=SyncRun.Status.SUCCESS)
    many, took = queries_and_ms()

    assert many == few
    print(f"\nhealth page with {sources + 1} sources: {took:.0f} ms, {many} queries")


# --- beat's tick -------------------------------------------------------------------------------


def test_beat_records_a_tick_when_it_starts_and_with_each_task_it_sends(broker, monkeypatch):
    monkeypatch.setattr(portal.celery, "_in_beat", False)
    queue = f"beat-test-{uuid.uuid4().hex[:8]}"

    rawevents_process_task.apply_async(args=[[]], queue=queue)  # a web or worker process
    assert broker.get(BEAT_TICK_KEY) is None

    beat_init.send(sender=None)  # what `celery beat` sends as it starts
    started = float(broker.get(BEAT_TICK_KEY))
    broker.delete(BEAT_TICK_KEY)
    rawevents_process_task.apply_async(args=[[]], queue=queue)  # beat sending a due task
    sent = float(broker.get(BEAT_TICK_KEY))
    broker.delete(queue)

    assert time.time() - 5 < started <= sent <= time.time()
    assert 0 < broker.ttl(BEAT_TICK_KEY) <= 24 * 3600
