"""Rows -> Plotly figures -> HTML fragments (plotly.js is loaded once by the page)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reporting.metrics.daily import DoraTotals
from reporting.metrics.dora import Window

BRAND, AMBER = "#2f5bea", "#d97706"


def trend_html(points: list[tuple[Window, DoraTotals]]) -> str:
    """Weekly production deployments (bars) and median lead time in hours (line)."""
    labels = [part.start.isoformat() for part, _ in points]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(
            x=labels,
            y=[r.deployment_count for _, r in points],
            name="Production deployments",
            marker_color=BRAND,
            opacity=0.85,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[
                None if r.lead_time_median is None else round(r.lead_time_median / 3600, 1)
                for _, r in points
            ],
            name="Median lead time (h)",
            mode="lines+markers",
            line={"color": AMBER, "width": 2},
            connectgaps=True,
        ),
        secondary_y=True,
    )
    figure.update_layout(
        height=300,
        margin={"l": 40, "r": 40, "t": 10, "b": 30},
        bargap=0.25,
        legend={"orientation": "h", "y": -0.2},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    figure.update_yaxes(title_text="deployments", gridcolor="#eef1f5", secondary_y=False)
    figure.update_yaxes(title_text="hours", showgrid=False, secondary_y=True)
    return figure.to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}
    )
