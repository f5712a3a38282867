"""Writes of lifecycle policies: policies (versioned text), their rules, and waivers.

Leads write policies and rules and decide waivers; a member of the service's team (or a lead)
requests a waiver. Each write is audited. Evaluation is in pipelines.policies.evaluation
(``policies_evaluate`` is re-exported here).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from pipelines.models import Policy, PolicyRule, PolicyVersion, Waiver
from pipelines.models.policies import RuleKind
from pipelines.policies.evaluation import policies_evaluate, policies_evaluate_queue
from pipelines.policies.params import ParamsError, params_clean
from portal.access import access_for, require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Service

__all__ = [
    "policies_evaluate",
    "policies_evaluate_queue",
    "policy_create",
    "policy_update",
    "policy_update_text",
    "rule_create",
    "rule_update",
    "waiver_decide",
    "waiver_request",
]

MAX_WAIVER_DAYS = 365
MAX_WINDOW_DAYS = 365
RULE_FIELDS = {"params", "window_days", "is_active"}  # what rule_update changes
RULE_ARGUMENTS = {"kind", "params", "window_days", "key", "is_active"}  # rule_create's


def _unique_slug(model, text: str, fallback: str, field: str = "slug") -> str:
    """A free slug from ``text`` that fits the column, numbered -2, -3... when taken."""
    size = model._meta.get_field(field).max_length
    base = slugify(text)[:size] or fallback
    slug, n = base, 2
    while model.objects.filter(**{field: slug}).exists():
        suffix = f"-{n}"
        slug, n = f"{base[: size - len(suffix)]}{suffix}", n + 1
    return slug


def _required(value: str, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError(what, {field: ["This field is required."]})
    return value.strip()


# --- policies ----------------------------------------------------------------------------------


@transaction.atomic
def policy_create(*, actor, name: str, text: str, rules: list[dict] | tuple = ()) -> Policy:
    """A policy with its first text version and, optionally, its rules (each a dict of
    ``rule_create``'s arguments, without the policy). All or nothing."""
    require_lead(actor)
    name = _required(name, "name", "Name the policy.")
    text = _required(text, "text", "Write the policy's text.")
    policy = Policy.objects.create(slug=_unique_slug(Policy, name, "policy"), name=name)
    PolicyVersion.objects.create(policy=policy, number=1, text=text, created_by=actor)
    audit_record(
        actor=actor, action="policy.create", instance=policy,
        after={**audit_snapshot(policy), "version": 1},
    )  # fmt: skip
    # Problems per rule, in order ({} for a good one), as DRF reports nested input.
    problems: list[dict] = []
    for rule in rules:
        unknown = sorted(set(rule) - RULE_ARGUMENTS)
        try:
            if unknown:
                raise ApplicationError("Unknown fields.", {k: ["Unknown field."] for k in unknown})
            rule_create(actor=actor, policy=policy, **rule)
        except ApplicationError as error:
            problems.append(error.extra or {"non_field_errors": [error.message]})
        else:
            problems.append({})
    if any(problems):
        # Not in words: a page shows this through the API only (pages add rules one by one).
        raise ApplicationError("Some rules are invalid: nothing was saved.", {"rules": problems})
    return policy


@transaction.atomic
def policy_update(
    *, actor, policy: Policy, name: str | None = None, text: str | None = None
) -> Policy:
    """Rename the policy and/or give it new text: new text is a new version (the latest is
    in force); the same text again changes nothing."""
    require_lead(actor)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    before = audit_snapshot(policy)
    if name is not None:
        policy.name = _required(name, "name", "Name the policy.")
        policy.save(update_fields=["name"])
    version = None
    if text is not None:
        text = _required(text, "text", "Write the policy's text.")
        latest = policy.versions.order_by("-number").first()
        if latest is None or latest.text != text:
            number = (policy.versions.aggregate(top=Max("number"))["top"] or 0) + 1
            version = PolicyVersion.objects.create(
                policy=policy, number=number, text=text, created_by=actor
            )
    audit_record(
        actor=actor, action="policy.update", instance=policy, before=before,
        after={**audit_snapshot(policy), "version": version.number if version else None},
    )  # fmt: skip
    return policy


def policy_update_text(*, actor, policy: Policy, text: str) -> Policy:
    """New text for the policy: a new version (``policy_update`` with text only)."""
    return policy_update(actor=actor, policy=policy, text=text)


# --- rules -------------------------------------------------------------------------------------


def _clean_params(kind: str, params: Any) -> dict:
    try:
        return params_clean(kind, {} if params is None else params)
    except ParamsError as error:
        raise ApplicationError(
            f"These params do not fit a {kind} rule.", {"params": error.problems}
        ) from None


def _clean_window(window_days: Any) -> int:
    if (
        isinstance(window_days, bool)
        or not isinstance(window_days, int)
        or not 1 <= window_days <= MAX_WINDOW_DAYS
    ):
        raise ApplicationError(
            "The window is a number of days.",
            {"window_days": [f"A whole number from 1 to {MAX_WINDOW_DAYS}."]},
        )
    return window_days


@transaction.atomic
def rule_create(
    *,
    actor,
    policy: Policy,
    kind: str,
    params: dict | None = None,
    window_days: int = 30,
    key: str = "",
    is_active: bool = True,
) -> PolicyRule:
    """A machine-checked rule of the policy. ``key`` (a slug, unique across policies) defaults
    to the policy's slug and the kind; ``params`` are the kind's (pipelines.policies.rules),
    stored with their defaults filled in."""
    require_lead(actor)
    if kind not in RuleKind.values:
        raise ApplicationError(
            "Unknown rule kind.", {"kind": [f"One of: {', '.join(RuleKind.values)}."]}
        )
    params = _clean_params(kind, params)
    window_days = _clean_window(window_days)
    if key:
        if slugify(key) != key or len(key) > PolicyRule._meta.get_field("key").max_length:
            raise ApplicationError("Invalid key.", {"key": ["Letters, digits, - and _ only."]})
        if PolicyRule.objects.filter(key=key).exists():
            raise ApplicationError("Key taken.", {"key": ["Another rule has this key."]})
    else:
        key = _unique_slug(
            PolicyRule, f"{policy.slug}-{kind.replace('_', '-')}", "rule", field="key"
        )
    rule = PolicyRule.objects.create(
        policy=policy,
        key=key,
        kind=kind,
        params=params,
        window_days=window_days,
        is_active=bool(is_active),
    )
    audit_record(actor=actor, action="policy.rule", instance=rule, after=audit_snapshot(rule))
    return rule


@transaction.atomic
def rule_update(*, actor, rule: PolicyRule, **fields: Any) -> PolicyRule:
    """Params, window and whether it is active (the kind and policy stay: results and waivers
    are about what the rule checks). The next evaluation uses the new values."""
    require_lead(actor)
    unknown = sorted(fields.keys() - RULE_FIELDS)
    if unknown:
        raise ApplicationError("These cannot change.", {f: ["Read-only."] for f in unknown})
    rule = PolicyRule.objects.select_for_update().get(pk=rule.pk)
    before = audit_snapshot(rule)
    if "params" in fields:
        rule.params = _clean_params(rule.kind, fields["params"])
    if "window_days" in fields:
        rule.window_days = _clean_window(fields["window_days"])
    if "is_active" in fields:
        rule.is_active = bool(fields["is_active"])
    rule.save()
    audit_record(
        actor=actor, action="policy.rule.update", instance=rule, before=before,
        after=audit_snapshot(rule),
    )  # fmt: skip
    return rule


# --- waivers -----------------------------------------------------------------------------------


def _check_expiry(expires_on: Any, today: date) -> date:
    if not isinstance(expires_on, date):
        raise ApplicationError("Say until when.", {"expires_on": ["This field is required."]})
    if expires_on <= today:
        raise ApplicationError(
            "A waiver ends in the future.", {"expires_on": ["Give a day after today."]}
        )
    if expires_on > today + timedelta(days=MAX_WAIVER_DAYS):
        raise ApplicationError(
            "Waivers last at most a year.",
            {"expires_on": [f"At most {MAX_WAIVER_DAYS} days from today."]},
        )
    return expires_on


@transaction.atomic
def waiver_request(
    *,
    actor,
    rule: PolicyRule,
    service: Service,
    reason: str,
    expires_on: date | None,
    today: date | None = None,
) -> Waiver:
    """Ask for an exception to ``rule`` for ``service`` until ``expires_on`` (inclusive, in
    the future, at most 365 days ahead). Members of the service's team and leads ask; one
    undecided request per rule and service at a time (409 otherwise)."""
    if not access_for(actor).works_in(service.team_id):
        raise PermissionDenied("Only the service's team and leads request its waivers.")
    today = today or timezone.localdate()
    reason = _required(reason, "reason", "Say why the rule cannot be met.")
    expires_on = _check_expiry(expires_on, today)
    if not rule.is_active:
        raise ApplicationError("This rule is not checked.", {"rule": ["The rule is inactive."]})
    # Serialise requests for one (rule, service): lock the rule row (cheap, rarely contended).
    PolicyRule.objects.select_for_update().filter(pk=rule.pk).first()
    if Waiver.objects.filter(rule=rule, service=service, status=Waiver.Status.REQUESTED).exists():
        raise ConflictError(
            "A waiver of this rule for this service already awaits a decision.",
            {"rule": ["Already requested."]},
        )
    waiver = Waiver.objects.create(
        rule=rule, service=service, reason=reason, expires_on=expires_on, requested_by=actor
    )
    audit_record(
        actor=actor, action="waiver.request", instance=waiver, after=audit_snapshot(waiver)
    )
    return waiver


@transaction.atomic
def waiver_decide(
    *, actor, waiver: Waiver, grant: bool, comment: str = "", today: date | None = None
) -> Waiver:
    """A lead grants or refuses a requested waiver (refusing needs a comment). Deciding twice,
    or a request that expired before it was decided, is a conflict (409). The rule is
    evaluated again for the service at once, so the scorecard shows the decision."""
    require_lead(actor)
    today = today or timezone.localdate()
    waiver = Waiver.objects.select_for_update().get(pk=waiver.pk)
    if waiver.status != Waiver.Status.REQUESTED:
        raise ConflictError(
            f"This waiver was already {waiver.get_status_display().lower()}.",
            {"status": [f"Already {waiver.status}."]},
        )
    comment = (comment or "").strip()
    if not grant and not comment:
        raise ApplicationError(
            "Say why it is refused.", {"comment": ["A refusal needs a comment."]}
        )
    if grant and waiver.expires_on < today:
        raise ConflictError(
            f"It expired on {waiver.expires_on:%d %b %Y} before it was decided: ask again.",
            {"expires_on": ["Already past."]},
        )
    before = audit_snapshot(waiver)
    waiver.status = Waiver.Status.GRANTED if grant else Waiver.Status.REFUSED
    waiver.decided_by, waiver.decided_at = actor, timezone.now()
    waiver.decision_comment = comment
    waiver.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    audit_record(
        actor=actor, action=f"waiver.{'grant' if grant else 'refuse'}", instance=waiver,
        before=before, after=audit_snapshot(waiver),
    )  # fmt: skip
    if grant:
        policies_evaluate(services=[waiver.service], rules_to_check=[waiver.rule], today=today)
    return waiver
