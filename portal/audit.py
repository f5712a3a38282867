"""Writing the audit log: every service that changes something calls ``audit_record``."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.forms.models import model_to_dict

from portal.models import AuditEvent

# Never copied into the audit log, whatever the model: the log is readable by admins and leads.
REDACTED_FIELDS = frozenset(
    {"password", "token", "webhook_secret", "key", "secret", "sync_state", "repository_errors"}
)


def audit_snapshot(instance: models.Model) -> dict[str, Any]:
    """The instance's concrete fields as JSON-safe values, secrets left out."""
    data = model_to_dict(instance, fields=[f.name for f in instance._meta.concrete_fields])
    kept = {
        name: value
        for name, value in data.items()
        if name not in REDACTED_FIELDS and not name.endswith(("_encrypted", "_ciphertext"))
    }
    return json.loads(json.dumps(kept, cls=DjangoJSONEncoder))


def audit_record(
    *,
    actor,
    action: str,
    instance: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        before=before,
        after=after,
    )
