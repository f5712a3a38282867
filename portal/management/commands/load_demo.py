"""Load the demo organisation: the core first, then each app's part (``<app>/demo.py``), then
the parts of the story that read what several apps made (``LATER_PARTS``)."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand

# Production support: the spring review's actions point at the maturity action, the roadmap
# initiative and the training item; the SLOs measure the incident firing now.
LATER_PARTS = ["pipelines.demo_support", "reporting.demo_slos"]


class Command(BaseCommand):
    help = "Load the Acme Retail demo organisation (idempotent: existing records are kept)."

    def handle(self, *args, **options):
        parts = [f"{app}.demo" for app in settings.PROJECT_APPS] + LATER_PARTS
        for module_name in parts:
            if find_spec(module_name) is None:
                continue
            self.stdout.write(f"Loading demo data: {module_name.removesuffix('.demo')}")
            import_module(module_name).load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
