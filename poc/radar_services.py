"""Writes of the technology radar: quadrants, entries and their ring moves. Leads edit the
radar; POC decisions place their tool through ``place``. Every move is kept with its reason."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from poc.models import Quadrant, RadarEntry, Ring, RingMove
from portal.access import require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError

PATTERN = re.compile(r"^[\w .*?/@:+-]{1,200}$")


def _check(name: str, ring: str, reason: str, pattern: str) -> None:
    problems = {}
    if not name.strip():
        problems["name"] = ["This field is required."]
    if ring not in Ring.values:
        problems["ring"] = [f"One of {', '.join(Ring.values)}."]
    if not reason.strip():
        problems["reason"] = ["Say why it goes there."]
    if pattern and not PATTERN.match(pattern):
        problems["adoption_pattern"] = [
            "A shell-style name pattern: letters, digits, spaces, * and ?, e.g. *trivy*."
        ]
    if problems:
        raise ApplicationError("Check the entry.", problems)


@transaction.atomic
def quadrant_create(*, actor, name: str, position: int = 0) -> Quadrant:
    require_lead(actor)
    slug = slugify(name)[:60]
    if not slug:
        raise ApplicationError("Name the quadrant.", {"name": ["Give it letters or digits."]})
    if Quadrant.objects.filter(slug=slug).exists():
        raise ConflictError("That quadrant exists.", {"name": ["A quadrant has this name."]})
    quadrant = Quadrant.objects.create(slug=slug, name=name.strip(), position=position)
    audit_record(actor=actor, action="radar.quadrant", instance=quadrant)
    return quadrant


@transaction.atomic
def entry_create(
    *,
    actor,
    name: str,
    quadrant: Quadrant,
    ring: str,
    reason: str,
    description: str = "",
    adoption_pattern: str = "",
    poc=None,
) -> RadarEntry:
    require_lead(actor)
    _check(name, ring, reason, adoption_pattern)
    slug = slugify(name)[:100]
    if not slug or slug == "export":  # /api/v1/radar/export/ is the export
        raise ApplicationError("Name it in words.", {"name": ["Give it letters or digits."]})
    if RadarEntry.objects.filter(slug=slug).exists():
        raise ConflictError("It is on the radar already.", {"name": [f"{name} is on the radar."]})
    now = timezone.now()
    entry = RadarEntry.objects.create(
        slug=slug,
        name=name.strip(),
        quadrant=quadrant,
        ring=ring,
        description=description.strip(),
        adoption_pattern=adoption_pattern.strip(),
        created_at=now,
        moved_at=now,
    )
    RingMove.objects.create(
        entry=entry, to_ring=ring, reason=reason.strip(), poc=poc, moved_by=actor, moved_at=now
    )
    audit_record(actor=actor, action="radar.add", instance=entry, after=audit_snapshot(entry))
    return entry


@transaction.atomic
def entry_move(*, actor, entry: RadarEntry, ring: str, reason: str, poc=None) -> RadarEntry:
    require_lead(actor)
    entry = RadarEntry.objects.select_for_update().get(pk=entry.pk)
    _check(entry.name, ring, reason, "")
    if ring == entry.ring and poc is None:
        raise ConflictError(
            f"{entry.name} is in {ring} already.", {"ring": ["Choose another ring."]}
        )
    now = timezone.now()
    RingMove.objects.create(
        entry=entry,
        from_ring=entry.ring,
        to_ring=ring,
        reason=reason.strip(),
        poc=poc,
        moved_by=actor,
        moved_at=now,
    )
    before = entry.ring
    entry.ring = ring
    if ring != before:
        entry.moved_at = now
    entry.save(update_fields=["ring", "moved_at"])
    audit_record(
        actor=actor,
        action="radar.move",
        instance=entry,
        before={"ring": before},
        after={"ring": ring},
    )
    return entry


@transaction.atomic
def entry_update(*, actor, entry: RadarEntry, **fields: Any) -> RadarEntry:
    """Name, description, quadrant and adoption pattern; the ring moves only by ``entry_move``."""
    require_lead(actor)
    allowed = {"description", "adoption_pattern", "quadrant", "name"}
    unknown = sorted(fields.keys() - allowed)
    if unknown:
        raise ApplicationError(
            "These cannot change here.", {name: ["Read-only."] for name in unknown}
        )
    entry = RadarEntry.objects.select_for_update().get(pk=entry.pk)
    before = audit_snapshot(entry)
    for name, value in fields.items():
        setattr(entry, name, value.strip() if isinstance(value, str) else value)
    _check(entry.name, entry.ring, "unchanged", entry.adoption_pattern)
    entry.save()
    audit_record(
        actor=actor,
        action="radar.update",
        instance=entry,
        before=before,
        after=audit_snapshot(entry),
    )
    return entry


def entry_for(poc) -> RadarEntry | None:
    """The radar entry a POC's tool already has (linked, or by name)."""
    return poc.radar_entry or RadarEntry.objects.filter(slug=slugify(poc.tool)[:100]).first()


def place(*, actor, poc, ring: str, reason: str) -> RadarEntry:
    """Put a decided POC's tool in ``ring``: a new entry in the POC's quadrant, or a move."""
    entry = entry_for(poc)
    if entry is None:
        return entry_create(
            actor=actor, name=poc.tool, quadrant=poc.quadrant, ring=ring, reason=reason, poc=poc
        )
    return entry_move(actor=actor, entry=entry, ring=ring, reason=reason, poc=poc)
