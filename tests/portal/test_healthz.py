"""/healthz against the real Postgres and Redis (a real worker and beat: test_run_path)."""

from __future__ import annotations

import time

import redis
from django.conf import settings

from portal.celery import BEAT_TICK_KEY, HEARTBEAT_KEY_PREFIX


def _clear_heartbeats():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*"):
        client.delete(key)
    client.delete(BEAT_TICK_KEY)
    return client


def _beat_ticked(client, seconds_ago: float = 0) -> None:
    # Written as portal.celery.record_beat_tick writes it: the time of the tick.
    client.set(BEAT_TICK_KEY, f"{time.time() - seconds_ago:.3f}", ex=3600)


def test_it_is_503_when_no_worker_has_beaten(db, client):
    _beat_ticked(_clear_heartbeats())

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["broker"], body["beat"]) == ("ok", "ok", "ok")
    assert body["worker"].startswith("error")


def test_it_is_200_while_a_heartbeat_is_fresh_and_beat_ticks(db, client):
    # Written exactly as portal.celery.Heartbeat writes it: a key that expires by itself.
    redis_client = _clear_heartbeats()
    redis_client.set(HEARTBEAT_KEY_PREFIX + "celery@test", f"{time.time():.3f}", ex=5)
    _beat_ticked(redis_client, seconds_ago=12)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "beat": "ok",
    }


def test_it_is_503_when_beat_never_ticked_or_went_quiet(db, client):
    redis_client = _clear_heartbeats()
    redis_client.set(HEARTBEAT_KEY_PREFIX + "celery@test", f"{time.time():.3f}", ex=5)

    never = client.get("/healthz")
    _beat_ticked(redis_client, seconds_ago=5 * 60)
    quiet = client.get("/healthz")

    assert (never.status_code, quiet.status_code) == (503, 503)
    assert never.json()["beat"].startswith("error: beat has not ticked")
    assert quiet.json()["beat"] == "error: no beat tick for 5 minutes"
    assert quiet.json()["worker"] == "ok"


def test_it_reports_an_unreachable_broker(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["beat"].startswith("unknown")
    assert response.json()["database"] == "ok"
