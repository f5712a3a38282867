"""``manage.py rotate_secrets``: re-encrypt every stored secret with the current key.

Rotation: put a new key first in FLIGHTDECK_ENCRYPTION_KEYS (keep the old one after it), run
this, then remove the old key. Each value is decrypted with whichever listed key made it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from pipelines.models import CISource
from portal import crypto


class Command(BaseCommand):
    help = "Re-encrypt CI source tokens and webhook secrets with the current encryption key."

    @transaction.atomic
    def handle(self, *args, **options):
        current = crypto.current_key_id()
        rotated = 0
        for source in CISource.objects.select_for_update().order_by("pk"):
            if {
                crypto.key_id_of(source.token_ciphertext),
                crypto.key_id_of(source.webhook_secret_ciphertext),
            } <= {current, None}:
                continue
            source.set_token(source.get_token())
            source.set_webhook_secret(source.get_webhook_secret())
            source.save(update_fields=["token_ciphertext", "webhook_secret_ciphertext"])
            rotated += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"{rotated} source(s) re-encrypted with key {current!r}; every secret now uses it."
            )
        )
