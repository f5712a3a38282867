"""Reads of the portal's own moving parts: database, broker, workers, beat and Celery queues.

Shared by ``/healthz``, the health page and ``/metrics``. Every read has a short timeout and
turns a failure into an error text, so a probe never raises and never hangs a page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from portal.celery import BEAT_TICK_KEY, HEARTBEAT_KEY_PREFIX

# Beat sends dispatch_due_sources_task every 30 s and records a tick with each task it sends;
# three missed sends in a row means it is gone (or stuck).
BEAT_STALE_SECONDS = 90
# kombu's Redis transport keeps each priority level in its own list: "<queue>", then
# "<queue>\x06\x16<priority>" for the other steps (kombu.transport.redis PRIORITY_STEPS).
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)
# kombu's hash of delivered, not yet acknowledged messages (acks_late: the running tasks).
UNACKED_KEY = "unacked"


def seconds_text(seconds: float | None) -> str:
    """A short duration for people: "4 s", "2 min 5 s", "3 h 20 min"; "—" when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


@dataclass(frozen=True)
class Worker:
    name: str
    age_seconds: float | None  # since its last heartbeat; None if the value is unreadable

    @property
    def age_text(self) -> str:
        return seconds_text(self.age_seconds)


@dataclass(frozen=True)
class BrokerSnapshot:
    """What Redis says, read in one connection; ``status`` is "ok" or an error text."""

    status: str
    workers: list[Worker] = field(default_factory=list)
    beat_tick_age: float | None = None
    queue_lengths: dict[str, int] = field(default_factory=dict)
    unacked: int | None = None

    @property
    def reachable(self) -> bool:
        return self.status == "ok"

    @property
    def beat_tick_age_text(self) -> str:
        return seconds_text(self.beat_tick_age)


def celery_queues() -> list[str]:
    """The queues workers consume: the default one and every routed one."""
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, *routed})


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return f"error: {type(error).__name__}"
    return "ok"


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _age(value: bytes | None, now: float) -> float | None:
    try:
        return max(0.0, now - float(value))
    except (TypeError, ValueError):
        return None


def broker_snapshot() -> BrokerSnapshot:
    try:
        client = redis_client()
        client.ping()
        # Heartbeat keys expire by themselves when their worker stops (portal.celery.Heartbeat).
        keys = sorted(client.scan_iter(match=HEARTBEAT_KEY_PREFIX + "*", count=100))
        queues = celery_queues()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        pipe.get(BEAT_TICK_KEY)
        for queue in queues:
            for step in _PRIORITY_STEPS:
                pipe.llen(queue if step == 0 else f"{queue}{_PRIORITY_SEPARATOR}{step}")
        pipe.hlen(UNACKED_KEY)
        results = pipe.execute()
    except redis.RedisError as error:
        return BrokerSnapshot(status=f"error: {type(error).__name__}")
    beats, tick = results[: len(keys)], results[len(keys)]
    lengths, unacked = results[len(keys) + 1 : -1], results[-1]
    now = time.time()
    steps = len(_PRIORITY_STEPS)
    return BrokerSnapshot(
        status="ok",
        workers=[
            Worker(name=key.decode()[len(HEARTBEAT_KEY_PREFIX) :], age_seconds=_age(beat, now))
            for key, beat in zip(keys, beats, strict=True)
            if beat is not None  # expired between SCAN and GET: that worker just stopped
        ],
        beat_tick_age=_age(tick, now),
        queue_lengths={
            queue: sum(lengths[index * steps : (index + 1) * steps])
            for index, queue in enumerate(queues)
        },
        unacked=unacked,
    )


def worker_status(snapshot: BrokerSnapshot) -> str:
    if not snapshot.reachable:
        return "unknown: broker unreachable"
    if not snapshot.workers:
        return "error: no worker heartbeat in the last 30 s"
    return "ok"


def beat_status(snapshot: BrokerSnapshot) -> str:
    if not snapshot.reachable:
        return "unknown: broker unreachable"
    age = snapshot.beat_tick_age
    if age is None:
        return "error: beat has not ticked (is `celery beat` running?)"
    if age > BEAT_STALE_SECONDS:
        return f"error: no beat tick for {age / 60:.0f} minutes"
    return "ok"


def health_checks(snapshot: BrokerSnapshot) -> dict[str, str]:
    """/healthz's parts, each "ok" or what is wrong, in the order the page lists them."""
    return {
        "database": database_status(),
        "broker": snapshot.status,
        "worker": worker_status(snapshot),
        "beat": beat_status(snapshot),
    }
