"""/healthz against the real Postgres and Redis (a real worker is covered by test_run_path)."""

from __future__ import annotations

import redis
from django.conf import settings

from portal.celery import HEARTBEAT_KEY_PREFIX


def _clear_heartbeats():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*"):
        client.delete(key)
    return client


def test_it_is_503_when_no_worker_has_beaten(db, client):
    _clear_heartbeats()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert (body["database"], body["broker"]) == ("ok", "ok")
    assert body["worker"].startswith("error")


def test_it_is_200_while_a_heartbeat_is_fresh(db, client):
    # Written exactly as portal.celery.Heartbeat writes it: a key that expires by itself.
    _clear_heartbeats().set(HEARTBEAT_KEY_PREFIX + "celery@test", "alive", ex=5)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "worker": "ok"}


def test_it_reports_an_unreachable_broker(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"
