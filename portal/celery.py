"""The Celery app (cookiecutter-django's bootstrap), the worker heartbeat and beat's tick behind
/healthz and the health page, and the request id carried into tasks for their log lines."""

from __future__ import annotations

import os
import socket
import time

from celery import Celery, bootsteps
from celery.signals import (
    beat_init,
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
)

from portal.observability import context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_KEY_PREFIX = "flightdeck:worker-heartbeat:"
# Beat's last tick (Unix time). Kept a day so the health page can say how long beat has been
# silent; probes.BEAT_STALE_SECONDS decides when silence is an outage.
BEAT_TICK_KEY = "flightdeck:beat-tick"
BEAT_TICK_KEEP_SECONDS = 24 * 3600
# The message header that carries the web request's id into the task it queued.
REQUEST_ID_HEADER = "flightdeck_request_id"


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


class Heartbeat(bootsteps.StartStopStep):
    """Writes an expiring key every few seconds while the worker consumes: /healthz reads it.

    A key with a TTL needs no clock comparison and disappears by itself when the worker dies;
    its value, the time of the beat, lets the health page show how fresh it is.
    """

    requires = {"celery.worker.components:Timer"}

    def start(self, worker) -> None:
        from django.conf import settings

        self.interval = settings.WORKER_HEARTBEAT_SECONDS
        self.key = HEARTBEAT_KEY_PREFIX + (worker.hostname or socket.gethostname())
        self.beat(worker)
        self.timer = worker.timer.call_repeatedly(self.interval, self.beat, (worker,))

    def beat(self, worker) -> None:
        import redis
        from django.conf import settings

        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
            client.set(self.key, f"{time.time():.3f}", ex=self.interval * 3)
        except redis.RedisError:
            pass  # the broker check on /healthz reports the outage

    def stop(self, worker) -> None:
        timer = getattr(self, "timer", None)
        if timer is not None:
            timer.cancel()


app.steps["worker"].add(Heartbeat)


# --- beat's tick ---------------------------------------------------------------------------------

# Set in the beat process only: beat has no per-tick signal, but it publishes every task it
# schedules (dispatch_due_sources_task every 30 s), so each publish from beat is a tick.
_in_beat = False


def record_beat_tick() -> None:
    import redis
    from django.conf import settings

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        client.set(BEAT_TICK_KEY, f"{time.time():.3f}", ex=BEAT_TICK_KEEP_SECONDS)
    except redis.RedisError:
        pass  # the broker check reports the outage; the send itself will fail too


@beat_init.connect
def _beat_started(**kwargs) -> None:
    global _in_beat
    _in_beat = True
    record_beat_tick()  # so a fresh `make run` is healthy before beat's first 30 s are up


@before_task_publish.connect
def _before_publish(headers: dict | None = None, **kwargs) -> None:
    if _in_beat:
        record_beat_tick()
    request_id = context.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


# --- ids in task log lines -----------------------------------------------------------------------

_bound: dict[str, tuple] = {}


def _carried_request_id(task) -> str | None:
    request = task.request
    # A worker puts custom message headers on the request itself; eager apply() under .headers.
    carried = getattr(request, REQUEST_ID_HEADER, None) or (request.headers or {}).get(
        REQUEST_ID_HEADER
    )
    return context.sane_request_id(carried)


@task_prerun.connect
def _bind_task_ids(task_id: str | None = None, task=None, **kwargs) -> None:
    """Inside a task, log lines carry the task id, and as request_id the id of the web request
    that queued it (a sync started from the Sources page), else the task id itself."""
    if task_id is None or task is None:
        return
    # An eager task run inside a request keeps that request's id.
    request_id = _carried_request_id(task) or context.current_request_id() or task_id
    _bound[task_id] = (context.request_id.set(request_id), context.task_id.set(task_id))


@task_postrun.connect
def _unbind_task_ids(task_id: str | None = None, **kwargs) -> None:
    tokens = _bound.pop(task_id, None)
    if tokens is not None:
        context.request_id.reset(tokens[0])
        context.task_id.reset(tokens[1])
