"""The compliance trend as a Plotly figure (plotly.js is loaded by the page)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from pipelines.policies.selectors import TrendPoint
from reporting.charts import BRAND, figure_html


def compliance_trend_html(points: list[TrendPoint]) -> SafeString:
    """Daily compliance in percent; days without results are gaps."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": [p.day.isoformat() for p in points],
            "y": [p.tally.percent for p in points],
            "name": "Compliance (%)",
            "line": {"color": BRAND, "width": 2},
            "marker": {"size": 4},
            "connectgaps": False,
            "hovertemplate": "%{x}: %{y}%<extra></extra>",
        }
    ]
    layout = {
        "height": 220,
        "margin": {"l": 40, "r": 16, "t": 10, "b": 30},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "yaxis": {"range": [0, 100.5], "ticksuffix": "%", "gridcolor": "#eef1f5"},
        "showlegend": False,
    }
    return figure_html(data, layout)
