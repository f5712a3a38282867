"""plotly.js served locally from the installed plotly package (no CDN, no copy in the repo)."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PACKAGE_DATA = Path(plotly.__file__).parent / "package_data"
STATIC_PATH = "vendor/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Finds ``vendor/plotly.min.js`` (the bundle plotly ships) and nothing else."""

    def find(self, path, find_all=False, **kwargs):
        if path != STATIC_PATH:
            return [] if (find_all or kwargs.get("all")) else None
        found = str(PACKAGE_DATA / "plotly.min.js")
        return [found] if (find_all or kwargs.get("all")) else found

    def list(self, ignore_patterns):
        storage = FileSystemStorage(location=PACKAGE_DATA)
        storage.prefix = "vendor"  # collectstatic places it at vendor/plotly.min.js
        yield "plotly.min.js", storage
