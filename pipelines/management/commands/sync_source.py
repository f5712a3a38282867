"""``manage.py sync_source <slug> [--full]``: one sync in the foreground, with progress."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pipelines.models import CISource, SyncRun
from pipelines.sync import Progress, TransientSyncError, source_sync


class Command(BaseCommand):
    help = "Sync one CI source now, in the foreground, and print a summary."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the source's slug")
        parser.add_argument(
            "--full",
            action="store_true",
            help="ignore the cursors and re-read the whole backfill window",
        )

    def handle(self, *args, slug: str, full: bool, **options):
        source = CISource.objects.filter(slug=slug).exclude(kind=CISource.Kind.PUSH).first()
        if source is None:
            known = (
                ", ".join(
                    CISource.objects.exclude(kind=CISource.Kind.PUSH).values_list("slug", flat=True)
                )
                or "none yet"
            )
            raise CommandError(f"No CI source {slug!r} (known: {known}).")

        # disable=None: no bar when the output is not a terminal (CI logs).
        bar = tqdm(
            total=len(source.repositories), unit="repo", disable=None, desc=f"Syncing {source.name}"
        )

        def show(progress: Progress) -> None:
            bar.n = progress.repositories_done
            bar.set_postfix(
                items=progress.items_fetched,
                new=progress.items_new,
                requests=progress.requests,
                refresh=False,
            )
            bar.refresh()

        try:
            sync_run = source_sync(
                source_id=source.pk, full=full, trigger="command", on_progress=show
            )
        except TransientSyncError as error:
            raise CommandError(
                f"Sync stopped by a transient error (retry later): {error}"
            ) from None
        finally:
            bar.close()
        if sync_run is None:
            raise CommandError("Another sync of this source is running; try again later.")
        self._summary(sync_run, CISource.objects.get(pk=source.pk))
        if sync_run.status == SyncRun.Status.FAILED:
            raise CommandError(sync_run.message or "The sync failed.")

    def _summary(self, sync_run: SyncRun, source: CISource) -> None:
        style = (
            self.style.SUCCESS if sync_run.status == SyncRun.Status.SUCCESS else self.style.WARNING
        )
        self.stdout.write(style(f"{sync_run.get_status_display()}: {sync_run.message or 'done'}"))
        self.stdout.write(
            f"  repositories {sync_run.repositories_done}/{sync_run.repositories_total}, "
            f"requests {sync_run.requests}, items fetched {sync_run.items_fetched}, "
            f"new {sync_run.items_new}"
        )
        for repository, error in source.repository_errors.items():
            self.stdout.write(self.style.ERROR(f"  {repository}: {error}"))
        if source.next_poll_at:
            self.stdout.write(f"  next poll: {source.next_poll_at:%Y-%m-%d %H:%M:%S} UTC")
