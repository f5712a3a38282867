"""Who may see and change what, in one place (the roles table of DESIGN.md).

Reads are filters on querysets (NetBox's ``restrict``): an object a user may not see is simply
absent, so detail views answer 404 and never leak existence. Writes are predicates over an
``Access`` snapshot computed once per request.

| role        | sees        | changes                                             |
| ----------- | ----------- | --------------------------------------------------- |
| admin       | everything  | everything                                          |
| lead        | all teams   | teams' details, any service, environments           |
| stakeholder | all teams   | nothing here (approves roadmaps later)              |
| member      | own teams   | own teams' services (create, update)                |
| viewer      | own teams   | nothing                                             |

A membership without a team grants its role organisation-wide; superusers are admins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from portal.models import Membership, Role, Service, Team

ORGANISATION_WIDE_READERS = frozenset({Role.ADMIN, Role.LEAD, Role.STAKEHOLDER})


@dataclass(frozen=True)
class Access:
    """A user's roles, resolved once: organisation-wide roles and a role per team."""

    user_id: int | None
    organisation_roles: frozenset[str] = frozenset()
    team_roles: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.organisation_roles

    @property
    def is_lead(self) -> bool:
        return self.is_admin or Role.LEAD in self.organisation_roles

    @property
    def sees_all_teams(self) -> bool:
        return bool(self.organisation_roles & ORGANISATION_WIDE_READERS)

    @property
    def team_ids(self) -> frozenset[int]:
        return frozenset(self.team_roles)

    def has_team_role(self, team_id: int, *roles: str) -> bool:
        return bool(self.team_roles.get(team_id, frozenset()) & set(roles))

    # --- reads ---

    def can_see_team(self, team_id: int) -> bool:
        return self.sees_all_teams or team_id in self.team_roles

    # --- writes ---

    def works_in(self, team_id: int) -> bool:
        """Leads everywhere; a team's admins, leads and members (not viewers) in it."""
        return self.is_lead or self.has_team_role(team_id, Role.ADMIN, Role.LEAD, Role.MEMBER)

    def can_manage_teams(self) -> bool:
        return self.is_admin

    def can_edit_teams(self) -> bool:
        return self.is_lead

    def can_create_service_in(self, team: Team) -> bool:
        return self.works_in(team.pk)

    def can_edit_service(self, service: Service) -> bool:
        return self.can_create_service_in(service.team)

    def can_delete_service(self, service: Service) -> bool:
        return self.is_lead or self.has_team_role(service.team_id, Role.ADMIN, Role.LEAD)

    def can_manage_environments(self) -> bool:
        return self.is_lead


ANONYMOUS = Access(user_id=None)


def access_for(user) -> Access:
    """The user's Access, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_flightdeck_access", None)
    if cached is not None:
        return cached

    organisation_roles: set[str] = {Role.ADMIN} if user.is_superuser else set()
    team_roles: dict[int, set[str]] = {}
    for team_id, role in Membership.objects.filter(user=user).values_list("team_id", "role"):
        if team_id is None:
            organisation_roles.add(role)
        else:
            team_roles.setdefault(team_id, set()).add(role)
    # Admins and leads of a team act as leads across the organisation only if granted so;
    # a team-scoped role never widens what the user sees beyond that team.
    access = Access(
        user_id=user.pk,
        organisation_roles=frozenset(organisation_roles),
        team_roles={team_id: frozenset(roles) for team_id, roles in team_roles.items()},
    )
    user._flightdeck_access = access
    return access


def visible_teams(user, queryset: QuerySet[Team] | None = None) -> QuerySet[Team]:
    access = access_for(user)
    queryset = Team.objects.all() if queryset is None else queryset
    if access.user_id is None:
        return queryset.none()
    return queryset if access.sees_all_teams else queryset.filter(pk__in=access.team_ids)


def visible_services(user, queryset: QuerySet[Service] | None = None) -> QuerySet[Service]:
    access = access_for(user)
    queryset = Service.objects.all() if queryset is None else queryset
    if access.user_id is None:
        return queryset.none()
    return queryset if access.sees_all_teams else queryset.filter(team_id__in=access.team_ids)


def require_lead(user) -> None:
    """Refuse (403) anyone but leads and admins."""
    if not access_for(user).is_lead:
        raise PermissionDenied("Only leads and admins do this.")
