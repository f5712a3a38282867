"""Beat started twice by mistake still gives one sync per source at a time (issue 10, "Faults";
ECOSYSTEM.md C7 row 7). The unit version is tests/pipelines/test_sync.py
(test_a_beat_tick_fired_twice_queues_one_sync_per_due_source); this one runs two real
``celery beat`` processes and a worker that could run three syncs at once.

Time is compressed: beat dispatches every second (CELERY_DISPATCH_INTERVAL) and the sources poll
every POLL_SECONDS (below the 60 s a user may set, through an UPDATE).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from itertools import pairwise

import pytest

from pipelines import services
from pipelines.models import CISource, SyncRun
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.workers import (  # noqa: F401 (fixtures)
    GITLAB_PROJECT,
    celery_processes,
    encryption_key,
    gitlab_bodies,
    gitlab_handler,
)

pytestmark = pytest.mark.slow

SOURCES = 3
POLL_SECONDS = 4
RUN_SECONDS = 30
REQUEST_SECONDS = 0.15  # about 9 requests: each sync takes over a second
SENT = re.compile(r"Sending due task dispatch-due-sources")
SKIPPED = "another sync of this source is running; skipped"


def test_two_beats_still_give_one_sync_per_source_per_poll_window(
    transactional_db,
    httpserver,
    tmp_path,
    celery_processes,  # noqa: F811
):
    handler = gitlab_handler(gitlab_bodies(2, 2), delay=REQUEST_SECONDS)
    httpserver.expect_request(re.compile("^/api/v4/")).respond_with_handler(handler)
    service = ServiceFactory(team=TeamFactory(), slug="cart-api")
    sources = [
        services.source_create(
            actor=UserFactory(),
            kind=CISource.Kind.GITLAB,
            name=f"GitLab {n}",
            base_url=httpserver.url_for("/api/v4/"),
            token="glpat-test",
            repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
        )
        for n in range(SOURCES)
    ]
    CISource.objects.update(poll_interval_seconds=POLL_SECONDS)

    celery_processes.worker(concurrency=SOURCES)
    beats = [
        celery_processes.beat(schedule=tmp_path / f"schedule-{n}", CELERY_DISPATCH_INTERVAL="1")
        for n in range(2)
    ]
    celery_processes.wait(
        lambda: all(SENT.search(beat.log.read_text()) for beat in beats), "both beats dispatch"
    )
    time.sleep(RUN_SECONDS)
    for beat in beats:
        assert beat.stop() == 0, beat.tail()
    celery_processes.wait(
        lambda: (
            not SyncRun.objects.filter(
                status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
            ).exists()
        ),
        "the last syncs finish",
    )

    dispatches = [len(SENT.findall(beat.log.read_text())) for beat in beats]
    runs, turned_away = Counter(), Counter()
    overlaps, shortest_gap = 0, float("inf")
    for source in sources:
        source_runs = list(SyncRun.objects.filter(source=source).order_by("queued_at"))
        ran = [run for run in source_runs if run.started_at]
        runs[source.slug] = len(ran)
        for earlier, later in pairwise(source_runs):
            shortest_gap = min(shortest_gap, (later.queued_at - earlier.queued_at).total_seconds())
        for earlier, later in pairwise(ran):
            overlaps += later.started_at < earlier.finished_at
        # A sync outlasting its poll interval (a loaded machine) makes the next poll due while
        # it runs: the source's lock turns that one away, with one beat as with two.
        for run in source_runs:
            if run.message == SKIPPED:
                turned_away[any(r.started_at <= run.queued_at <= r.finished_at for r in ran)] += 1
    print(
        f"\n2 beats ({dispatches[0]} + {dispatches[1]} dispatches in {RUN_SECONDS} s): syncs per "
        f"source {sorted(runs.values())}, shortest gap between two queued {shortest_gap:.1f} s "
        f"(poll every {POLL_SECONDS} s), {overlaps} overlapping, {turned_away.total()} turned "
        "away by the lock while a sync of theirs ran"
    )
    assert min(dispatches) >= RUN_SECONDS // 2, "both beats kept dispatching"
    assert all(count >= 2 for count in runs.values())
    # Each source was queued at most once per poll window, though two beats asked every second.
    assert shortest_gap >= POLL_SECONDS - 0.1
    assert max(runs.values()) <= RUN_SECONDS // POLL_SECONDS + 3  # +3: start-up and drain
    assert overlaps == 0
    assert turned_away[False] == 0, "a sync was skipped while none of its source ran"
    outcomes = Counter(SyncRun.objects.values_list("status", "message"))
    assert set(outcomes) <= {(SyncRun.Status.SUCCESS, ""), (SyncRun.Status.FAILED, SKIPPED)}
