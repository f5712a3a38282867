"""The Celery app (cookiecutter-django's bootstrap) and the worker heartbeat behind /healthz."""

from __future__ import annotations

import os
import socket

from celery import Celery, bootsteps
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_KEY_PREFIX = "flightdeck:worker-heartbeat:"


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


class Heartbeat(bootsteps.StartStopStep):
    """Writes an expiring key every few seconds while the worker consumes: /healthz reads it.

    A key with a TTL needs no clock comparison and disappears by itself when the worker dies.
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
            client.set(self.key, "alive", ex=self.interval * 3)
        except redis.RedisError:
            pass  # the broker check on /healthz reports the outage

    def stop(self, worker) -> None:
        timer = getattr(self, "timer", None)
        if timer is not None:
            timer.cancel()


app.steps["worker"].add(Heartbeat)
