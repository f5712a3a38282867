"""The sync engine: one source, its repositories, the connector, raw events and records.

``source_sync`` runs one sync of one source:

1. Take the source's advisory lock (one sync per source at a time; Postgres releases it when
   a killed worker's connection closes, so Celery's redelivery can then run it to the end).
2. For each configured repository, let the connector fetch since the repository's cursor (or
   the backfill window), storing raw events in batches and normalising them; after each batch,
   save the cursors together with what they cover, so a stop resumes where it was.
3. A permanent error (bad token, missing repository) marks that repository and the others go on;
   a rate limit pauses the sync until the reset; a transient error (the database connection
   lost too) is raised for Celery to retry.
4. Write the outcome to the source in one UPDATE and release the lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from pipelines.change_requests.services import cr_refresh_queue
from pipelines.connectors.base import (
    ALL_REPOSITORIES,
    POLLED_KINDS,
    Repository,
    SourceOptions,
    connector_class,
)
from pipelines.connectors.http import DEFAULT_TIMEOUT, ConnectorError, RateLimited, SourceHttp
from pipelines.ingest import rawevents_process, rawevents_store_items
from pipelines.models import CISource, SyncRun
from pipelines.policies.evaluation import policies_evaluate_after_sync
from portal.crypto import SecretError

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_ATTEMPTS = 6  # the first delivery and pipelines.tasks.source_sync_task's 5 retries
LOCK_NAMESPACE = 4_021  # first key of pg_try_advisory_lock(int, int): "source sync" locks
DATABASE_WAIT_SECONDS = 10  # to record a lost database connection on the run before retrying


class TransientSyncError(Exception):
    """A sync stopped by a transient failure (timeouts, 5xx); Celery retries it."""


@dataclass
class Progress:
    """What the UI and the command show while a sync runs."""

    repositories_total: int = 0
    repositories_done: int = 0
    items_fetched: int = 0
    items_new: int = 0
    requests: int = 0
    records: dict[str, int] = field(default_factory=dict)


def source_claim(*, source: CISource) -> bool:
    """Take the per-source lock on this database session; True if it is ours now.

    A PostgreSQL session advisory lock, not a row flag: it belongs to the worker's connection,
    so a worker killed mid-sync releases it at once, and a task Celery redelivers while the
    first delivery is still alive cannot take it and run the same sync twice.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, source.pk])
        return bool(cursor.fetchone()[0])


def source_release(*, source: CISource) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, source.pk])


def source_sync(
    *,
    source_id: int,
    sync_run_id: int | None = None,
    full: bool = False,
    trigger: str = "poll",
    on_progress: Callable[[Progress], None] | None = None,
) -> SyncRun | None:
    """Run one sync of the source. Returns its SyncRun, or None if another sync holds it."""
    source = CISource.objects.get(pk=source_id)
    sync_run = (
        SyncRun.objects.get(pk=sync_run_id)
        if sync_run_id
        else SyncRun.objects.create(source=source, trigger=trigger, full=full)
    )
    if sync_run.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING):
        return sync_run  # a redelivered task of a sync that already finished
    # The broker keeps no delivery count: a sync that kills its worker every time (out of
    # memory) would be redelivered for ever, so count deliveries here and give up.
    SyncRun.objects.filter(pk=sync_run.pk).update(attempts=F("attempts") + 1)
    sync_run.refresh_from_db(fields=["attempts"])
    if sync_run.attempts > MAX_ATTEMPTS:
        SyncRun.objects.filter(pk=sync_run.pk).update(
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"gave up after {MAX_ATTEMPTS} attempts (the worker failed each time)",
        )
        sync_run.refresh_from_db()
        return sync_run
    if not source_claim(source=source):
        if sync_run.status == SyncRun.Status.QUEUED:
            sync_run.status, sync_run.finished_at = SyncRun.Status.FAILED, timezone.now()
            sync_run.message = "another sync of this source is running; skipped"
            sync_run.save(update_fields=["status", "finished_at", "message"])
        # else: a redelivery of this very sync while its first delivery still runs: leave it.
        return None
    connection_lost = False
    try:
        return _run(source, sync_run, full, on_progress)
    except (OperationalError, InterfaceError) as error:
        # Postgres restarted or failed over mid-sync: the session, and the lock with it, may be
        # gone; committed batches and their cursors are kept. Say so, and let Celery retry.
        connection_lost = connection.connection is None or not connection.is_usable()
        if connection_lost:
            connection.close()  # Django would not reconnect a broken one inside this task
        raise TransientSyncError(_database_failed(sync_run, error, connection_lost)) from error
    finally:
        if not connection_lost:
            source_release(source=source)


def _database_failed(sync_run: SyncRun, error: Exception, connection_lost: bool) -> str:
    """Record the failure on the run on a new connection, waiting a few seconds for the database
    to come back (else the retry finds the run as it was); return it as one readable line."""
    first_line = (str(error).strip() or type(error).__name__).splitlines()[0]
    what = "the database connection was lost" if connection_lost else "a database error"
    reason = f"{what} ({first_line})"
    retried = sync_run.trigger != "command"  # a foreground command has no retry
    for _ in range(DATABASE_WAIT_SECONDS * 2):  # a restart takes a second or two
        try:
            SyncRun.objects.filter(pk=sync_run.pk).update(
                status=SyncRun.Status.QUEUED if retried else SyncRun.Status.FAILED,
                finished_at=None if retried else timezone.now(),
                message=f"will retry: {reason}" if retried else reason,
            )
            return reason
        except (OperationalError, InterfaceError):
            connection.close()
            time.sleep(0.5)
    logger.warning("sync run %s: %s; the database is still down", sync_run.pk, reason)
    return reason


def _run(source: CISource, sync_run: SyncRun, full: bool, on_progress) -> SyncRun:
    source.refresh_from_db()
    if source.kind not in POLLED_KINDS:  # Alertmanager, Prometheus, the built-in sources
        SyncRun.objects.filter(pk=sync_run.pk).update(
            status=SyncRun.Status.FAILED,
            finished_at=timezone.now(),
            message=f"{source.get_kind_display()} sources are not polled",
        )
        sync_run.refresh_from_db()
        return sync_run

    repositories = [Repository(name=r["name"], service=r["service"]) for r in source.repositories]
    if not connector_class(source.kind).polls_per_repository:
        repositories = [ALL_REPOSITORIES]  # one account (Opsgenie), whatever it maps
    progress = Progress(repositories_total=len(repositories))
    sync_run.status, sync_run.started_at = SyncRun.Status.RUNNING, timezone.now()
    sync_run.repositories_total = len(repositories)
    sync_run.save(update_fields=["status", "started_at", "repositories_total"])

    state = dict(source.sync_state)
    repository_errors: dict[str, str] = {}
    outcome, message, resume_at = SyncRun.Status.SUCCESS, "", None
    try:
        connector, http = _build_connector(source, state)
    except (ConnectorError, SecretError, ValueError) as error:
        _finish(source, sync_run, state, {}, SyncRun.Status.FAILED, str(error), None, progress)
        return sync_run

    try:
        for repository in repositories:
            try:
                _sync_repository(
                    source,
                    sync_run,
                    connector,
                    http,
                    repository,
                    state,
                    full,
                    progress,
                    on_progress,
                )
                repository_errors.pop(repository.name, None)
            except RateLimited:
                raise
            except ConnectorError as error:
                if not error.permanent:
                    raise
                repository_errors[repository.name] = error.message
                logger.warning("sync %s: %s: %s", source.slug, repository.name, error.message)
            progress.repositories_done += 1
            _report(sync_run, progress, on_progress)
    except RateLimited as error:
        outcome, message, resume_at = SyncRun.Status.PAUSED, error.message, error.resume_at
    except ConnectorError as error:
        # A poll is retried by Celery with this same run: leave it queued for that retry (a
        # foreground command has no retry, so its run fails). Cursors saved so far are kept.
        retried = sync_run.trigger != "command"
        _finish(
            source,
            sync_run,
            state,
            repository_errors,
            SyncRun.Status.QUEUED if retried else SyncRun.Status.FAILED,
            f"will retry: {error.message}" if retried else error.message,
            None,
            progress,
        )
        raise TransientSyncError(error.message) from error

    if repository_errors and outcome == SyncRun.Status.SUCCESS:
        failed = len(repository_errors)
        outcome = SyncRun.Status.FAILED if failed == len(repositories) else SyncRun.Status.PARTIAL
        message = f"{failed} of {len(repositories)} repositories failed"
    _finish(source, sync_run, state, repository_errors, outcome, message, resume_at, progress)
    if outcome in (SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL):
        policies_evaluate_after_sync(source=source)  # once per sync, not per batch
        cr_refresh_queue()  # deliver the change requests production now carries
    return sync_run


def _build_connector(source: CISource, state: dict):
    connector_type = connector_class(source.kind)
    headers, auth = (
        connector_type.auth_headers(source.get_token()) if source.has_token else ({}, None)
    )
    http = SourceHttp(
        source.base_url,
        headers=headers,
        auth=auth,
        etags=state.setdefault("etags", {}),
        timeout=(DEFAULT_TIMEOUT[0], settings.CI_READ_TIMEOUT),
    )
    options = SourceOptions(
        backfill_days=source.backfill_days,
        incident_label=source.incident_label,
        deployment_pattern=source.deployment_pattern or r"(?i)deploy",
    )
    return connector_type(http=http, options=options), http


def _sync_repository(
    source, sync_run, connector, http, repository, state, full, progress, on_progress
) -> None:
    cursors = state.setdefault("repositories", {})
    repository_state = {} if full else cursors.get(repository.name, {})
    since = timezone.now() - timedelta(days=source.backfill_days)
    batch = []
    for item in connector.fetch(repository, state=repository_state, since=since, full=full):
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _store_batch(source, batch, progress)
            batch = []
            cursors[repository.name] = dict(repository_state)
            _save_state(source, state)
            progress.requests = http.requests_made
            _report(sync_run, progress, on_progress)
    _store_batch(source, batch, progress)
    cursors[repository.name] = dict(repository_state)
    _save_state(source, state)
    progress.requests = http.requests_made


def _store_batch(source, batch, progress: Progress) -> None:
    if not batch:
        return
    new_ids = rawevents_store_items(source=source, items=batch)
    progress.items_fetched += len(batch)
    progress.items_new += len(new_ids)
    for name, count in rawevents_process(ids=new_ids, evaluate_policies=False).items():
        progress.records[name] = progress.records.get(name, 0) + count


def _save_state(source: CISource, state: dict) -> None:
    CISource.objects.filter(pk=source.pk).update(sync_state=state)


def _report(sync_run: SyncRun, progress: Progress, on_progress) -> None:
    SyncRun.objects.filter(pk=sync_run.pk).update(
        repositories_done=progress.repositories_done,
        requests=progress.requests,
        items_fetched=progress.items_fetched,
        items_new=progress.items_new,
    )
    if on_progress is not None:
        on_progress(progress)


@transaction.atomic
def _finish(
    source, sync_run, state, repository_errors, outcome, message, resume_at, progress
) -> None:
    """Write the outcome to the source (one UPDATE) and the run record (the caller unlocks)."""
    now = timezone.now()
    succeeded = outcome in (SyncRun.Status.SUCCESS, SyncRun.Status.PARTIAL)
    next_poll = resume_at or now + timedelta(seconds=source.poll_interval_seconds)
    values = {
        "sync_state": state,
        "repository_errors": repository_errors,
        "next_poll_at": next_poll,
    }
    if succeeded:
        values["last_success_at"] = now
    if outcome == SyncRun.Status.SUCCESS:
        values["last_error"] = ""
    else:
        values["last_error"], values["last_error_at"] = message or outcome, now
    CISource.objects.filter(pk=source.pk).update(**values)
    SyncRun.objects.filter(pk=sync_run.pk).update(
        status=outcome,
        finished_at=None if outcome == SyncRun.Status.QUEUED else now,
        message=message,
        repositories_done=progress.repositories_done,
        requests=progress.requests,
        items_fetched=progress.items_fetched,
        items_new=progress.items_new,
    )
    sync_run.refresh_from_db()
