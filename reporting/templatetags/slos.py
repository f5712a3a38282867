"""Formatting SLO numbers for people (reporting.slos): SLIs with enough decimals to tell
99.9 % from 99.95 %, burn rates, and badges for the budget and the alert state."""

from __future__ import annotations

from django import template

register = template.Library()

LEVEL_BADGES = {"page": "badge-red", "ticket": "badge-amber", "ok": "badge-green"}
LEVEL_WORDS = {"page": "fast burn", "ticket": "slow burn", "ok": "ok"}


@register.filter
def sli_percent(fraction: float | None) -> str:
    """0.99953 -> "99.953 %" (three decimals: budgets live in the last nines)."""
    return "—" if fraction is None else f"{fraction * 100:.3f} %"


@register.filter
def budget_percent(fraction: float | None) -> str:
    """The share of the budget left: 0.25 -> "25 %", -0.5 -> "-50 % (overspent)"."""
    if fraction is None:
        return "—"
    text = f"{fraction * 100:.0f} %"
    return f"{text} (overspent)" if fraction < 0 else text


@register.filter
def budget_badge(fraction: float | None) -> str:
    if fraction is None:
        return "badge-grey"
    if fraction <= 0:
        return "badge-red"
    return "badge-amber" if fraction < 0.25 else "badge-green"


@register.filter
def budget_bar(fraction: float | None) -> int:
    """The budget left as a whole percentage between 0 and 100, for a bar."""
    return 0 if fraction is None else max(0, min(100, round(fraction * 100)))


@register.filter
def burn(rate: float | None) -> str:
    if rate is None:
        return "—"
    sign = "\u00d7"  # the multiplication sign
    return f"{rate:.1f}{sign}" if rate < 100 else f"{rate:.0f}{sign}"


@register.filter
def level_badge(level: str) -> str:
    return LEVEL_BADGES.get(level, "badge-grey")


@register.filter
def level_words(level: str) -> str:
    return LEVEL_WORDS.get(level, level)


@register.filter
def get_burn(burn_rates: dict | None, window: str) -> float | None:
    """``burn_rates|get_burn:"1h"`` (template lookups cannot start with a digit)."""
    return (burn_rates or {}).get(window)
