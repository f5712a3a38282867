"""Writes of the reporting app: alert rules (the rollups write themselves, reporting.rollups)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record, audit_snapshot
from reporting.alerts import rule_evaluate
from reporting.models import AlertRule


@transaction.atomic
def alert_rule_create(*, actor, **fields: Any) -> AlertRule:
    rule = AlertRule(**fields)
    rule.full_clean()
    rule.save()
    audit_record(actor=actor, action="alert_rule.create", instance=rule, after=audit_snapshot(rule))
    return rule


@transaction.atomic
def alert_rule_update(*, actor, rule: AlertRule, data: dict[str, Any]) -> AlertRule:
    before = audit_snapshot(rule)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="alert_rule.update",
        instance=rule,
        before=before,
        after=audit_snapshot(rule),
    )
    # A paused rule resolves its open alerts (and says so) now, not at the next beat.
    rule_evaluate(rule, now=timezone.now())
    return rule


@transaction.atomic
def alert_rule_delete(*, actor, rule: AlertRule) -> None:
    audit_record(
        actor=actor, action="alert_rule.delete", instance=rule, before=audit_snapshot(rule)
    )
    rule.delete()
