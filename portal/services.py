"""Writes to the shared core. Each function is one transaction and leaves one audit event."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Environment, Membership, Service, Team


def _apply(instance, data: dict[str, Any], fields: set[str]) -> list[str]:
    """Set the allowed ``fields`` present in ``data``; return the names that really changed."""
    unknown = set(data) - fields
    if unknown:
        raise ApplicationError(
            "Unknown fields.", extra={name: ["This field cannot be set."] for name in unknown}
        )
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _save_unique(instance, *, what: str) -> None:
    """Save, turning a lost uniqueness race into a field error instead of a 500."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        raise ApplicationError(
            f"A {what} with this name or slug already exists.",
            extra={"slug": [f"A {what} with this name or slug already exists."]},
        ) from error


def _create(model, *, actor, what: str, **fields):
    instance = model(**fields)
    if not instance.slug:
        instance.slug = slugify(instance.name)[:100]
    instance.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(instance, what=what)
    audit_record(
        actor=actor, action=f"{what}.create", instance=instance, after=audit_snapshot(instance)
    )
    return instance


def _update(instance, *, actor, what: str, data: dict[str, Any], fields: set[str]):
    before = audit_snapshot(instance)
    changed = _apply(instance, data, fields)
    if not changed:
        return instance
    instance.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(instance, what=what)
    audit_record(
        actor=actor,
        action=f"{what}.update",
        instance=instance,
        before=before,
        after=audit_snapshot(instance),
    )
    return instance


def _delete(instance, *, actor, what: str) -> None:
    before = audit_snapshot(instance)
    audit_record(actor=actor, action=f"{what}.delete", instance=instance, before=before)
    instance.delete()


# --- teams ---

TEAM_FIELDS = {"name", "slug", "description"}


@transaction.atomic
def team_create(*, actor, name: str, slug: str = "", description: str = "") -> Team:
    return _create(Team, actor=actor, what="team", name=name, slug=slug, description=description)


@transaction.atomic
def team_update(*, actor, team: Team, data: dict[str, Any]) -> Team:
    return _update(team, actor=actor, what="team", data=data, fields=TEAM_FIELDS)


@transaction.atomic
def team_delete(*, actor, team: Team) -> None:
    if team.services.exists():
        raise ConflictError(
            f"{team} still owns {team.services.count()} service(s); move or delete them first."
        )
    _delete(team, actor=actor, what="team")


# --- services ---

SERVICE_FIELDS = {"team", "name", "slug", "description", "tier", "repository_url", "default_branch"}


@transaction.atomic
def service_create(*, actor, team: Team, name: str, **fields: Any) -> Service:
    _apply(Service(), fields, SERVICE_FIELDS)  # refuses unknown fields before anything is written
    return _create(Service, actor=actor, what="service", team=team, name=name, **fields)


@transaction.atomic
def service_update(*, actor, service: Service, data: dict[str, Any]) -> Service:
    return _update(service, actor=actor, what="service", data=data, fields=SERVICE_FIELDS)


@transaction.atomic
def service_delete(*, actor, service: Service) -> None:
    _delete(service, actor=actor, what="service")


# --- environments ---

ENVIRONMENT_FIELDS = {"name", "slug", "position", "is_production"}


@transaction.atomic
def environment_create(
    *,
    actor,
    name: str,
    slug: str = "",
    position: int | None = None,
    is_production: bool | None = None,
) -> Environment:
    if is_production is None:
        is_production = Environment.is_production_name(name)
    if position is None:
        last = Environment.objects.order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else last + 10
    return _create(
        Environment,
        actor=actor,
        what="environment",
        name=name,
        slug=slug,
        position=position,
        is_production=is_production,
    )


@transaction.atomic
def environment_update(*, actor, environment: Environment, data: dict[str, Any]) -> Environment:
    return _update(
        environment, actor=actor, what="environment", data=data, fields=ENVIRONMENT_FIELDS
    )


@transaction.atomic
def environment_delete(*, actor, environment: Environment) -> None:
    _delete(environment, actor=actor, what="environment")


# --- memberships ---


@transaction.atomic
def membership_set(*, actor, user, team: Team | None, role: str) -> Membership:
    """Give ``user`` exactly ``role`` in ``team`` (organisation-wide when ``team`` is None)."""
    membership = (
        Membership.objects.select_for_update().filter(user=user, team=team).order_by().first()
    )
    if membership is None:
        membership = Membership(user=user, team=team, role=role)
        membership.full_clean(validate_unique=False, validate_constraints=False)
        membership.save()
        audit_record(
            actor=actor,
            action="membership.create",
            instance=membership,
            after=audit_snapshot(membership),
        )
        return membership
    return _update(membership, actor=actor, what="membership", data={"role": role}, fields={"role"})


@transaction.atomic
def membership_delete(*, actor, membership: Membership) -> None:
    _delete(membership, actor=actor, what="membership")
