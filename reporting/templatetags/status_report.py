"""Status report formatting: the report's content keeps dates as ISO strings (it is JSON)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.dateformat import format as date_format

register = template.Library()

RAG_BADGES = {"red": "badge-red", "amber": "badge-amber", "green": "badge-green"}


@register.filter
def isodate(value: str | None, pattern: str = "j M Y") -> str:
    """An ISO date or date-time string, formatted like Django's ``date`` filter (UTC)."""
    if not value:
        return "—"
    parsed: date = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return date_format(parsed, pattern)


@register.filter
def rag_class(colour: str) -> str:
    return RAG_BADGES.get(colour, "badge-grey")


@register.filter
def share(part: int | float | None, whole: int | float | None) -> int:
    """``part`` as a whole percentage of ``whole`` (0 when there is no whole), for bars."""
    if not part or not whole:
        return 0
    return max(0, min(100, round(100 * part / whole)))
