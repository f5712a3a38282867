"""The radar as data: JSON with each entry's history, and the CSV that Thoughtworks' Build
Your Own Radar reads (columns name, ring, quadrant, isNew, description; rings and quadrants in
lower case as in its sample sheet; isNew TRUE or FALSE)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from django.utils import timezone

BYOR_COLUMNS = ["name", "ring", "quadrant", "isNew", "description"]
EXPORT_FORMATS = {"json": "application/json", "byor-csv": "text/csv"}
NEW_FOR_DAYS = 90
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _new_since(since: date | None) -> date:
    return since or timezone.localdate() - timedelta(days=NEW_FOR_DAYS)


def is_new(entry, since: date | None = None) -> bool:
    """Placed on the radar on or after ``since`` (default: within the last 90 days)."""
    return timezone.localtime(entry.created_at).date() >= _new_since(since)


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def byor_csv(entries, *, since: date | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BYOR_COLUMNS)
    for entry in entries:
        writer.writerow(
            [
                _cell(entry.name),
                entry.ring,
                entry.quadrant.name.lower(),
                "TRUE" if is_new(entry, since) else "FALSE",
                _cell(" ".join(entry.description.split())),
            ]
        )
    return out.getvalue()


def radar_json(entries, *, since: date | None = None) -> dict:
    return {
        "generated_at": timezone.now().isoformat(),
        "new_since": _new_since(since).isoformat(),
        "entries": [
            {
                "slug": entry.slug,
                "name": entry.name,
                "ring": entry.ring,
                "quadrant": entry.quadrant.slug,
                "quadrant_name": entry.quadrant.name,
                "is_new": is_new(entry, since),
                "description": entry.description,
                "moved_at": entry.moved_at.isoformat(),
                "pocs": [poc.slug for poc in entry.pocs.all()],
                "history": [
                    {
                        "from_ring": move.from_ring or None,
                        "to_ring": move.to_ring,
                        "reason": move.reason,
                        "poc": move.poc.slug if move.poc else None,
                        "moved_at": move.moved_at.isoformat(),
                    }
                    for move in entry.moves.all()
                ],
            }
            for entry in entries
        ],
    }
