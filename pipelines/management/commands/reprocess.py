"""``manage.py reprocess``: replay stored raw events through normalisation (after a fix)."""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand
from tqdm import tqdm

from pipelines.ingest import rawevents_process
from pipelines.models import RawEvent

BATCH = 500


class Command(BaseCommand):
    help = "Normalise stored raw events again (idempotent: records are upserted)."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="only this source's events (slug)")
        parser.add_argument(
            "--status",
            choices=[s.value for s in RawEvent.Status],
            action="append",
            help="only events in this status (repeatable; default: all)",
        )

    def handle(self, *args, source: str | None, status: list[str] | None, **options):
        events = RawEvent.objects.all()
        if source:
            events = events.filter(source__slug=source)
        if status:
            events = events.filter(status__in=status)
        ids = list(events.order_by("id").values_list("id", flat=True))
        totals: Counter = Counter()
        for start in tqdm(range(0, len(ids), BATCH), unit="batch", disable=None):
            batch = ids[start : start + BATCH]
            RawEvent.objects.filter(id__in=batch).update(status=RawEvent.Status.PENDING)
            totals.update(rawevents_process(ids=batch))
        self.stdout.write(
            self.style.SUCCESS(
                f"Reprocessed {len(ids)} raw events: "
                + ", ".join(f"{name} {count}" for name, count in sorted(totals.items()))
            )
        )
