"""Reads of the shared core, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from portal.access import access_for, visible_services, visible_teams
from portal.filtersets import ServiceFilterSet, TeamFilterSet
from portal.models import AuditEvent, Membership, Service, Team

HOME_SERVICE_PREVIEW = 8


def team_list(*, user, filters: dict | None = None) -> tuple[TeamFilterSet, QuerySet[Team]]:
    queryset = (
        visible_teams(user)
        .order_by("name")
        .annotate(
            service_count=Count("services", distinct=True),
            member_count=Count("memberships", distinct=True),
        )
    )
    filterset = TeamFilterSet(filters, queryset=queryset)
    return filterset, filterset.qs


def service_list(
    *, user, filters: dict | None = None
) -> tuple[ServiceFilterSet, QuerySet[Service]]:
    filterset = ServiceFilterSet(
        filters, queryset=visible_services(user).select_related("team"), user=user
    )
    return filterset, filterset.qs


def home_teams(*, user, preview: int = HOME_SERVICE_PREVIEW) -> tuple[list[Team], bool]:
    """The home page's teams, and whether they are the user's own.

    Users in teams see those; organisation-wide readers in no team (a stakeholder) see every
    team. Each team carries ``service_count`` and ``preview_services`` (its first ``preview``
    services by name), fetched in one query whatever the number of services.
    """
    own = Team.objects.filter(memberships__user=user).distinct()
    is_own = own.exists() or not access_for(user).sees_all_teams
    # Explicit order: Django ignores Meta.ordering in aggregated (GROUP BY) queries.
    teams = list(
        (own if is_own else visible_teams(user))
        .annotate(service_count=Count("services"))
        .order_by("name")
    )
    ranked = (
        Service.objects.filter(team__in=teams)
        .annotate(rank=Window(RowNumber(), partition_by=F("team_id"), order_by=F("name").asc()))
        .filter(rank__lte=preview)
        .order_by("team_id", "name")
    )
    previews: dict[int, list[Service]] = {}
    for service in ranked:
        previews.setdefault(service.team_id, []).append(service)
    for team in teams:
        team.preview_services = previews.get(team.pk, [])
        team.more_services = team.service_count - len(team.preview_services)
    return teams, is_own


def team_get(*, user, slug: str) -> Team:
    return get_object_or_404(visible_teams(user), slug=slug)


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("role", "user__username")


def service_get(*, user, slug: str) -> Service:
    return get_object_or_404(visible_services(user).select_related("team"), slug=slug)


def audit_events_for(*, user, instance, limit: int = 20) -> list[AuditEvent]:
    """An object's recent history, for leads and admins (others see no history)."""
    if not access_for(user).is_lead:
        return []
    return list(
        AuditEvent.objects.filter(
            object_type=instance._meta.label_lower, object_id=str(instance.pk)
        ).select_related("actor")[:limit]
    )
