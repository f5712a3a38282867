"""What changed between two roadmap snapshots, in words a stakeholder reads: "added",
"moved from Q2 2026 to Q3 2026", "target changed". Pure: snapshots in, changes out.

A snapshot (built by ``roadmap.snapshot``) is JSON: themes, initiatives and deliverables keyed by
slug, dates as ISO strings, money as strings, so equal plans always compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, moved, changed
    item: str  # theme, initiative, deliverable
    slug: str
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.item.capitalize()} “{self.title}”: {self.text}"


def quarter(iso_day: str) -> str:
    day = date.fromisoformat(iso_day)
    return f"Q{(day.month - 1) // 3 + 1} {day.year}"


def span(start: str, end: str) -> str:
    """One quarter, "Q3 2026", or a range joined by an en dash: Q3-Q4 2026, Q4 2026-Q1 2027."""
    first, last = quarter(start), quarter(end)
    if first == last:
        return first
    if first[-4:] == last[-4:]:
        return f"{first[:2]}\N{EN DASH}{last}"
    return f"{first}\N{EN DASH}{last}"


def _target_words(target: dict) -> str:
    if not target.get("metric"):
        return f"{target['name']} (checked by a reviewer)"
    word = "at most" if target["comparison"] == "lte" else "at least"
    return f"{target['name']} {word} {target['threshold']:g} over {target['window_days']} days"


def _by_slug(snapshot: dict | None, key: str) -> dict[str, dict]:
    return {item["slug"]: item for item in (snapshot or {}).get(key, [])}


def _moved(item: str, old: dict, new: dict, start: str, end: str) -> list[str]:
    """Dates: in quarters when the quarter changes, else the days."""
    if (old[start], old[end]) == (new[start], new[end]):
        return []
    before, after = span(old[start], old[end]), span(new[start], new[end])
    if before != after:
        return [f"moved from {before} to {after}"]
    if item == "deliverable" and old[start] == new[start]:
        return [f"due date moved from {old[end]} to {new[end]}"]
    return [f"dates changed from {old[start]}/{old[end]} to {new[start]}/{new[end]}"]


def _field_changes(old: dict, new: dict, fields: dict[str, str]) -> list[str]:
    texts = []
    for field, label in fields.items():
        # A field missing from an older snapshot is as good as empty.
        if old.get(field) != new.get(field) and (old.get(field) or new.get(field)):
            before, after = old.get(field), new.get(field)
            if isinstance(before, list):
                before, after = ", ".join(before) or "none", ", ".join(after or []) or "none"
            texts.append(f"{label} changed from {before or 'none'} to {after or 'none'}")
    return texts


def _target_changes(old: list[dict], new: list[dict]) -> list[str]:
    before = {t["name"]: t for t in old}
    after = {t["name"]: t for t in new}
    texts = [f"target added: {_target_words(after[n])}" for n in after if n not in before]
    texts += [f"target removed: {_target_words(before[n])}" for n in before if n not in after]
    texts += [
        f"target changed: {_target_words(before[n])} → {_target_words(after[n])}"
        for n in after
        if n in before and before[n] != after[n]
    ]
    return texts


ITEMS = {
    # item: (snapshot key, start field, end field, {field: label})
    "theme": ("themes", None, None, {"name": "name"}),
    "initiative": (
        "initiatives",
        "starts_on",
        "ends_on",
        {
            "title": "title",
            "theme": "theme",
            "owner": "owner",
            "status": "status",
            "teams": "teams",
            "depends_on": "dependencies",
            "change_requests": "change requests",
        },
    ),
    "deliverable": (
        "deliverables",
        "starts_on",
        "due_on",
        {"title": "title", "initiative": "initiative", "team": "owner team", "budget": "budget"},
    ),
}


def _added_words(item: str, new: dict) -> str:
    if item == "initiative":
        return f"added ({span(new['starts_on'], new['ends_on'])})"
    if item == "deliverable":
        return f"added (due {new['due_on']}, budget {new['budget']})"
    return "added"


def diff(old: dict | None, new: dict) -> list[Change]:
    """Every change from ``old`` (None: nothing approved before) to ``new``, in plan order."""
    changes: list[Change] = []
    for item, (key, start, end, fields) in ITEMS.items():
        before, after = _by_slug(old, key), _by_slug(new, key)
        title = "name" if item == "theme" else "title"
        for slug, entry in after.items():
            if slug not in before:
                changes.append(Change("added", item, slug, entry[title], _added_words(item, entry)))
                continue
            previous = before[slug]
            moves = _moved(item, previous, entry, start, end) if start else []
            changes += [Change("moved", item, slug, entry[title], text) for text in moves]
            texts = _field_changes(previous, entry, fields)
            if item == "deliverable":
                texts += _target_changes(previous.get("targets", []), entry.get("targets", []))
            changes += [Change("changed", item, slug, entry[title], text) for text in texts]
        changes += [
            Change("removed", item, slug, entry[title], "removed")
            for slug, entry in before.items()
            if slug not in after
        ]
    return changes
