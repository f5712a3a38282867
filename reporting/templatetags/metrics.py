"""Formatting metric values for people: durations, rates, frequencies and tier badges."""

from __future__ import annotations

from django import template

register = template.Library()

TIER_BADGES = {"elite": "badge-green", "high": "badge", "medium": "badge-amber", "low": "badge-red"}


@register.filter
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


@register.filter
def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


@register.filter
def frequency(per_day: float | None) -> str:
    if not per_day:
        return "none"
    if per_day >= 1:
        return f"{per_day:.1f} / day"
    if per_day * 7 >= 1:
        return f"{per_day * 7:.1f} / week"
    return f"{per_day * 30:.1f} / month"


@register.inclusion_tag("reporting/_tier.html")
def tier_badge(tier: str | None):
    return {"tier": tier, "css": TIER_BADGES.get(tier or "", "badge-grey")}
