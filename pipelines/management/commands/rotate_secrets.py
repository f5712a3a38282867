"""``manage.py rotate_secrets``: the old name of ``rotate_keys``, kept so scripts keep working."""

from __future__ import annotations

from pipelines.management.commands.rotate_keys import Command as RotateKeys


class Command(RotateKeys):
    help = "Deprecated: use rotate_keys (the same command under its new name)."

    def handle(self, *args, **options):
        self.stderr.write("rotate_secrets is deprecated; use rotate_keys.")
        return super().handle(*args, **options)
