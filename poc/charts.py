"""The technology radar as a Plotly polar chart: quadrants are sectors, rings are bands from
adopt (centre) to hold (edge); each entry sits at a spot derived from its slug, so it does
not jump between page loads. Entries moved since a date are ringed."""

from __future__ import annotations

import zlib
from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from poc.models import Ring
from reporting.charts import figure_html

RING_COLOURS = {
    Ring.ADOPT: "#15803d",
    Ring.TRIAL: "#2f5bea",
    Ring.ASSESS: "#d97706",
    Ring.HOLD: "#b91c1c",
}
BAND_COLOURS = ["#ecfdf5", "#eef2ff", "#fffbeb", "#fef2f2"]
RINGS = list(Ring)


def _spot(slug: str, quadrant_index: int, quadrants: int, ring_index: int) -> tuple[float, float]:
    seed = zlib.crc32(slug.encode())
    span = 360 / quadrants
    angle = quadrant_index * span + 8 + (span - 16) * ((seed % 1000) / 999)
    radius = ring_index + 0.2 + 0.6 * (((seed // 1000) % 1000) / 999)
    return round(radius, 3), round(angle, 2)


def radar_html(entries, quadrants, *, moved_since: date | None) -> SafeString:
    order = {q.pk: i for i, q in enumerate(quadrants)}
    count = max(len(quadrants), 1)
    span = 360 / count
    data: list[dict] = [
        {
            "type": "barpolar",
            "r": [1] * count,
            "base": [index] * count,
            "theta": [(i + 0.5) * span for i in range(count)],
            "width": [span] * count,
            "marker": {"color": BAND_COLOURS[index], "line": {"color": "#e5e7eb", "width": 1}},
            "hoverinfo": "skip",
            "showlegend": False,
        }
        for index in range(len(RINGS))
    ]
    for ring_index, ring in enumerate(RINGS):
        placed = [e for e in entries if e.ring == ring and e.quadrant_id in order]
        spots = [_spot(e.slug, order[e.quadrant_id], count, ring_index) for e in placed]
        data.append(
            {
                "type": "scatterpolar",
                "mode": "markers+text",
                "name": ring.label,
                "r": [r for r, _ in spots],
                "theta": [t for _, t in spots],
                "text": [e.name for e in placed],
                "textposition": "top center",
                "textfont": {"size": 10, "color": "#374151"},
                "customdata": [reverse("radar_entry", args=[e.slug]) for e in placed],
                "hovertext": [f"{e.name} · {ring.label} · {e.quadrant.name}" for e in placed],
                "hoverinfo": "text",
                "marker": {
                    "size": 12,
                    "color": RING_COLOURS[ring],
                    "line": {
                        "color": ["#111827" if _moved(e, moved_since) else "#fff" for e in placed],
                        "width": [3 if _moved(e, moved_since) else 1 for e in placed],
                    },
                },
            }
        )
    layout = {
        "height": 620,
        "margin": {"l": 40, "r": 40, "t": 30, "b": 30},
        "polar": {
            "bgcolor": "#fff",
            "radialaxis": {
                "range": [0, len(RINGS)],
                "tickvals": [i + 0.5 for i in range(len(RINGS))],
                "ticktext": [ring.label for ring in RINGS],
                "showgrid": False,
                "showline": False,
                "angle": 90,
                "tickfont": {"size": 10, "color": "#6b7280"},
            },
            "angularaxis": {
                "tickmode": "array",
                "tickvals": [(i + 0.5) * span for i in range(count)],
                "ticktext": [q.name for q in quadrants],
                "showgrid": False,
                "rotation": 0,
                "direction": "counterclockwise",
                "tickfont": {"size": 13},
            },
        },
        "legend": {"orientation": "h"},
        "font": {"family": "system-ui, sans-serif", "size": 11},
        "paper_bgcolor": "#fff",
    }
    return figure_html(data, layout)


def _moved(entry, since: date | None) -> bool:
    return since is not None and timezone.localtime(entry.moved_at).date() >= since
