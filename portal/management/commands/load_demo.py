"""Load the demo organisation: the core first, then each app's part (``<app>/demo.py``)."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Load the Acme Retail demo organisation (idempotent: existing records are kept)."

    def handle(self, *args, **options):
        for app in settings.PROJECT_APPS:
            module_name = f"{app}.demo"
            if find_spec(module_name) is None:
                continue
            self.stdout.write(f"Loading demo data: {app}")
            import_module(module_name).load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
