"""The home page's "Open incidents" card: read here so the home view needs no change."""

from __future__ import annotations

from django import template

from pipelines.incidents.selectors import open_incidents_for

register = template.Library()


@register.inclusion_tag("pipelines/incidents/_home_open_card.html", takes_context=True)
def open_incidents(context):
    user = context["request"].user
    incidents, total = open_incidents_for(user=user)
    return {"incidents": incidents, "total": total}
