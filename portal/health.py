"""/healthz: is the database reachable, the broker answering, and a worker alive?"""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.celery import HEARTBEAT_KEY_PREFIX


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return f"error: {type(error).__name__}"
    return "ok"


def _check_broker_and_worker() -> tuple[str, str]:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
        # Heartbeat keys expire by themselves when their worker stops (portal.celery.Heartbeat).
        alive = next(client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*", count=100), None)
    except redis.RedisError as error:
        return f"error: {type(error).__name__}", "unknown: broker unreachable"
    return "ok", ("ok" if alive is not None else "error: no worker heartbeat in the last 30 s")


@never_cache
@require_GET
def healthz(request):
    database = _check_database()
    broker, worker = _check_broker_and_worker()
    healthy = database == broker == worker == "ok"
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": database,
        "broker": broker,
        "worker": worker,
    }
    return JsonResponse(body, status=200 if healthy else 503)
