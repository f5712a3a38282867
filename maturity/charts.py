"""The team radar: one trace per assessment round, capabilities around the circle."""

from __future__ import annotations

from django.utils.safestring import SafeString

from reporting.charts import AMBER, BRAND, figure_html


def radar_html(capabilities, rounds: list[tuple[str, dict[str, int | None]]]) -> SafeString:
    """``rounds``: (label, capability key -> level), the current one first."""
    names = [c.name for c in capabilities]
    data = (
        [
            {
                "type": "scatterpolar",
                "r": [levels.get(c.key) or 0 for c in capabilities]
                + [levels.get(capabilities[0].key) or 0],
                "theta": [*names, names[0]],
                "name": label,
                "fill": "toself" if index == 0 else "none",
                "line": {
                    "color": BRAND if index == 0 else AMBER,
                    "dash": "solid" if index == 0 else "dot",
                },
                "opacity": 0.8,
            }
            for index, (label, levels) in enumerate(rounds)
        ]
        if capabilities
        else []
    )
    layout = {
        "height": 460,
        "margin": {"l": 70, "r": 70, "t": 20, "b": 20},
        "polar": {"radialaxis": {"range": [0, 5], "dtick": 1}},
        "legend": {"orientation": "h"},
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "paper_bgcolor": "#fff",
    }
    return figure_html(data, layout)


def trend_html(trend: dict[str, list[tuple[str, int]]]) -> SafeString:
    """One line per team: a capability's level over the rounds."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": team,
            "x": [period for period, _level in points],
            "y": [level for _period, level in points],
        }
        for team, points in trend.items()
    ]
    layout = {
        "height": 300,
        "margin": {"l": 40, "r": 20, "t": 10, "b": 40},
        "yaxis": {"range": [0.5, 5.5], "dtick": 1, "title": {"text": "level"}},
        "xaxis": {"type": "category"},
        "legend": {"orientation": "h", "y": -0.25},
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
    }
    return figure_html(data, layout)
