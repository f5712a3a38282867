"""The roadmap timeline: a Gantt of initiatives by quarter, coloured by status, with arrows from
each dependency's end to its dependent's start."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from reporting.charts import figure_html
from roadmap.models import Initiative

STATUS_COLOURS = {
    Initiative.Status.PLANNED: "#93c5fd",
    Initiative.Status.IN_PROGRESS: "#2f5bea",
    Initiative.Status.DONE: "#16a34a",
    Initiative.Status.DROPPED: "#d1d5db",
}
DAY_MS = 24 * 3600 * 1000


def _quarter_starts(first: date, last: date) -> list[date]:
    day = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    starts = []
    while day <= last + timedelta(days=1):
        starts.append(day)
        month = day.month + 3
        day = date(day.year + (month > 12), (month - 1) % 12 + 1, 1)
    return starts


def gantt_html(initiatives: list[Initiative]) -> SafeString:
    """One bar per initiative (top to bottom in start order); x is dates, gridlines at quarters."""
    rows = [i.title for i in initiatives]
    data = []
    for status, colour in STATUS_COLOURS.items():
        placed = [i for i in initiatives if i.status == status]
        if not placed:
            continue
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": Initiative.Status(status).label,
                "y": [i.title for i in placed],
                "base": [i.starts_on.isoformat() for i in placed],
                # Bars on a date axis measure in milliseconds; ends_on is inclusive.
                "x": [((i.ends_on - i.starts_on).days + 1) * DAY_MS for i in placed],
                "marker": {"color": colour},
                "customdata": [reverse("initiative_detail", args=[i.slug]) for i in placed],
                "hovertext": [
                    f"{i.title} · {i.starts_on:%d %b %Y} to {i.ends_on:%d %b %Y} · {i.theme.name}"
                    for i in placed
                ],
                "hoverinfo": "text",
            }
        )
    by_pk = {i.pk: i for i in initiatives}
    arrows = [
        {
            "x": (target.starts_on).isoformat(),
            "y": target.title,
            "ax": (source.ends_on + timedelta(days=1)).isoformat(),
            "ay": source.title,
            "xref": "x",
            "yref": "y",
            "axref": "x",
            "ayref": "y",
            "showarrow": True,
            "arrowhead": 2,
            "arrowwidth": 1.5,
            "arrowcolor": "#374151",
            "text": "",
        }
        for target in initiatives
        for source in (by_pk.get(d.pk) for d in target.depends_on.all())
        if source is not None
    ]
    first = min((i.starts_on for i in initiatives), default=timezone.localdate())
    last = max((i.ends_on for i in initiatives), default=timezone.localdate())
    quarters = _quarter_starts(first, last)
    layout = {
        "barmode": "overlay",
        "height": 120 + 38 * max(len(rows), 1),
        "margin": {"l": 10, "r": 20, "t": 10, "b": 40},
        "xaxis": {
            "type": "date",
            "tickvals": [q.isoformat() for q in quarters],
            "ticktext": [f"Q{(q.month - 1) // 3 + 1} {q.year}" for q in quarters],
            "ticklabelmode": "period",
            "gridcolor": "#e5e7eb",
            "range": [quarters[0].isoformat(), quarters[-1].isoformat()],
        },
        "yaxis": {
            "categoryorder": "array",
            "categoryarray": list(reversed(rows)),
            "automargin": True,
        },
        "shapes": [
            {
                "type": "line",
                "x0": timezone.localdate().isoformat(),
                "x1": timezone.localdate().isoformat(),
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": "#dc2626", "width": 1, "dash": "dot"},
            }
        ],
        "annotations": arrows,
        "legend": {"orientation": "h", "y": -0.15},
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
    }
    return figure_html(data, layout)
