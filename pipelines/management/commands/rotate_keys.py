"""``manage.py rotate_keys``: re-encrypt every stored secret with the current (first) key.

Rotation (docs/security.md): put a new key first in FLIGHTDECK_ENCRYPTION_KEYS and keep the
old ones after it; restart; run this; run ``rotate_keys --check`` until it says no secret uses
an old key; then remove the old keys. Old keys stay readable the whole time, so the portal
keeps working while this runs.

How it goes, per encrypted column in ``ENCRYPTED_COLUMNS``:

1. Take the next batch of rows (in primary-key order, after the last one seen) whose value
   is set and not yet under the current key, locking them (``select_for_update``) so a
   concurrent edit of the same source waits rather than being overwritten.
2. Decrypt each with whichever configured key made it, encrypt it with the current key, and
   write it with a plain UPDATE (``updated_at`` and the audit log are not touched: nothing the
   user set has changed).
3. Commit the batch, print the progress, go on.

A crash loses at most the batch in flight; the next run selects only what is still under an
old key, so it finishes the job, and a run with nothing left to do changes nothing. A value
no configured key opens is counted and named (model, row, column; never the value), the run
goes on with the rest and ends with an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal import crypto


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding ``crypto.encrypt`` output, and the purpose it was sealed with."""

    model: str  # "app_label.Model"
    field: str
    purpose: Callable[[object], str]  # the row -> the purpose its value is bound to
    purpose_fields: tuple[str, ...]  # the row's fields ``purpose`` reads

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"

    def model_class(self):
        return apps.get_model(self.model)


# Every encrypted column in the database; tests/pipelines/test_secrets.py fails when a model
# gains a ``*_ciphertext`` field missing here. Purposes must match the models' accessors.
ENCRYPTED_COLUMNS = [
    EncryptedColumn(
        "pipelines.CISource",
        "token_ciphertext",
        lambda row: f"cisource.token.{row.slug}",
        ("slug",),
    ),
    EncryptedColumn(
        "pipelines.CISource",
        "webhook_secret_ciphertext",
        lambda row: f"cisource.webhook_secret.{row.slug}",
        ("slug",),
    ),
]
DEFAULT_BATCH_SIZE = 100


def _current_prefix() -> str:
    return f"{crypto.FORMAT_VERSION}:{crypto.current_key_id()}:"


def stale_rows(column: EncryptedColumn):
    """The rows of ``column`` whose value is set and sealed with another key than the current."""
    field = column.field
    return (
        column.model_class()
        .objects.exclude(**{field: ""})
        .exclude(**{f"{field}__startswith": _current_prefix()})
    )


def stale_key_ids() -> Counter:
    """How many secrets each old key id still seals, over every encrypted column."""
    counts: Counter = Counter()
    for column in ENCRYPTED_COLUMNS:
        for value in stale_rows(column).values_list(column.field, flat=True).iterator():
            counts[crypto.key_id_of(value) or "unknown format"] += 1
    return counts


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (CI and monitoring source tokens, webhook secrets) "
        "with the current encryption key; --check reports whether any still uses an old key."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit non-zero if any secret still uses an old key.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args, check: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        crypto.reset_key_cache()  # the keys as configured now, not as first read
        if check:
            self._check()
            return
        current = crypto.current_key_id()
        rotated, unreadable = 0, []
        for column in ENCRYPTED_COLUMNS:
            done, failed = self._rotate_column(column, batch_size)
            rotated += done
            unreadable += failed
        columns = len(ENCRYPTED_COLUMNS)
        self.stdout.write(
            f"{rotated} secret(s) in {columns} column(s) re-encrypted with key {current!r}; "
            f"{len(unreadable)} unreadable."
        )
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) could not be decrypted with any configured key "
                f"and still use an old one: {', '.join(unreadable)}. Add the key that made "
                "them to FLIGHTDECK_ENCRYPTION_KEYS and run again, or set those secrets anew."
            )
        self.stdout.write(self.style.SUCCESS(self._removable_keys_note()))

    def _rotate_column(self, column: EncryptedColumn, batch_size: int) -> tuple[int, list[str]]:
        """Re-encrypt one column batch by batch; returns (re-encrypted, unreadable labels)."""
        total = stale_rows(column).count()
        if not total:
            self.stdout.write(f"{column.label}: nothing to re-encrypt")
            return 0, []
        rotated, unreadable, last_pk = 0, [], 0
        while True:
            with transaction.atomic():
                batch = list(
                    stale_rows(column)
                    .select_for_update(of=("self",))
                    .filter(pk__gt=last_pk)  # past unreadable rows, which stay stale
                    .only("pk", column.field, *column.purpose_fields)
                    .order_by("pk")[:batch_size]
                )
                if not batch:
                    break
                for row in batch:
                    label = f"{column.label} of row {row.pk}"
                    try:
                        plaintext = crypto.decrypt(
                            getattr(row, column.field), purpose=column.purpose(row)
                        )
                    except crypto.SecretError:
                        unreadable.append(label)
                        continue
                    sealed = crypto.encrypt(plaintext, purpose=column.purpose(row))
                    type(row).objects.filter(pk=row.pk).update(**{column.field: sealed})
                    rotated += 1
                last_pk = batch[-1].pk
            self.stdout.write(f"{column.label}: {rotated}/{total} re-encrypted")
        return rotated, unreadable

    def _check(self) -> None:
        current = crypto.current_key_id()
        stale = stale_key_ids()
        if stale:
            counts = ", ".join(f"{count} under {key!r}" for key, count in sorted(stale.items()))
            raise CommandError(
                f"{sum(stale.values())} secret(s) still use an old key ({counts}); run "
                f"`manage.py rotate_keys` to re-encrypt them with {current!r}."
            )
        self.stdout.write(self.style.SUCCESS(self._removable_keys_note()))

    @staticmethod
    def _removable_keys_note() -> str:
        current, *old = crypto.key_ids()
        note = f"Every secret uses key {current!r}."
        if old:
            note += (
                f" No secret uses {', '.join(map(repr, old))} any more: remove it from "
                "FLIGHTDECK_ENCRYPTION_KEYS when you like."
            )
        return note
