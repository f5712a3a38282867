"""Rows -> Plotly figure specs -> HTML fragments (plotly.js is loaded once by the page).

Figures are written as the plain JSON plotly.js takes: plotly's Python graph objects validate
every property on the way and cost more than the whole page's data (profiled: 130 ms of a
270 ms dashboard over a year).
"""

from __future__ import annotations

import uuid

import orjson
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from reporting.metrics.daily import DoraTotals
from reporting.metrics.dora import Window

BRAND, AMBER = "#2f5bea", "#d97706"
CONFIG = {"displaylogo": False, "responsive": True}


def figure_html(data: list[dict], layout: dict) -> SafeString:
    """A div and the JSON data block ``static/js/flightdeck.js`` draws into it.

    Data, not an inline script: the Content-Security-Policy allows scripts from our origin only.
    """
    element = f"chart-{uuid.uuid4().hex[:12]}"
    # orjson escapes nothing HTML-special by itself: "</" must not close the script element.
    spec = orjson.dumps([data, layout, CONFIG]).decode().replace("</", "<\\/")
    return format_html(
        '<div id="{}" class="chart" data-plotly="{}-figure"></div>'
        '<script type="application/json" id="{}-figure">{}</script>',
        element,
        element,
        element,
        mark_safe(spec),  # noqa: S308 (JSON from our own numbers and labels, "</" escaped)
    )


def trend_html(points: list[tuple[Window, DoraTotals]]) -> SafeString:
    """Weekly production deployments (bars) and median lead time in hours (line)."""
    labels = [part.start.isoformat() for part, _ in points]
    lead_hours = [
        None if r.lead_time_median is None else round(r.lead_time_median / 3600, 1)
        for _, r in points
    ]
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [r.deployment_count for _, r in points],
            "name": "Production deployments",
            "marker": {"color": BRAND},
            "opacity": 0.85,
        },
        {
            "type": "scatter",
            "x": labels,
            "y": lead_hours,
            "yaxis": "y2",
            "name": "Median lead time (h)",
            "mode": "lines+markers",
            "line": {"color": AMBER, "width": 2},
            "connectgaps": True,
        },
    ]
    layout = {
        "height": 300,
        "margin": {"l": 40, "r": 40, "t": 10, "b": 30},
        "bargap": 0.25,
        "legend": {"orientation": "h", "y": -0.2},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "yaxis": {"title": {"text": "deployments"}, "gridcolor": "#eef1f5"},
        "yaxis2": {
            "title": {"text": "hours"},
            "showgrid": False,
            "overlaying": "y",
            "side": "right",
        },
    }
    return figure_html(data, layout)
