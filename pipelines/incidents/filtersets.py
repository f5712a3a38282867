"""The FilterSets of incidents, reviews and review actions, shared by the pages and the API.

``team`` is the service's team or the team that owns the incident: a Platform engineer sees
Checkout's incident that Platform took over."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from pipelines.filtersets import ScopedFilterSet, _time_range
from pipelines.models import Incident, IncidentStatus, PostIncidentReview, ReviewAction, Severity
from portal.access import visible_services, visible_teams
from portal.filtersets import StrictBooleanFilter
from portal.models import Service, Team

UNTRIAGED = "untriaged"
SEVERITY_CHOICES = [*Severity.choices, (UNTRIAGED, "Untriaged")]


@extend_schema_field(OpenApiTypes.STR)
class TeamSlugFilter(django_filters.ModelChoiceFilter):
    """A team by slug, matched by a method (the schema cannot tell its type by itself)."""


def _team_match(prefix: str, team: Team) -> Q:
    return Q(**{f"{prefix}service__team": team}) | Q(**{f"{prefix}owner_team": team})


class IncidentFilterSet(ScopedFilterSet):
    team = TeamSlugFilter(
        label="Team",
        method="of_team",
        to_field_name="slug",
        queryset=Team.objects.none(),
        empty_label="All teams",
        help_text="Team slug: the service's team or the owner team.",
    )
    severity = django_filters.ChoiceFilter(
        method="of_severity", choices=SEVERITY_CHOICES, empty_label="Any severity"
    )
    status = django_filters.ChoiceFilter(choices=IncidentStatus.choices, empty_label="Any status")
    open = StrictBooleanFilter(
        method="is_open", label="Open", help_text="true: not resolved yet; false: resolved."
    )
    since, until = _time_range("opened_at")
    q = django_filters.CharFilter(
        method="search", label="Search", help_text="Words of the title or summary, an alert name."
    )

    class Meta:
        model = Incident
        fields = ["service", "team", "severity", "status", "open", "since", "until", "q"]

    def of_team(self, queryset, name, value):
        return queryset.filter(_team_match("", value)) if value else queryset

    def of_severity(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(severity="" if value == UNTRIAGED else value)

    def is_open(self, queryset, name, value):
        if value is None:
            return queryset
        resolved = Q(status=IncidentStatus.RESOLVED)
        return queryset.exclude(resolved) if value else queryset.filter(resolved)

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(title__icontains=value)
            | Q(summary__icontains=value)
            | Q(labels__alertname__iexact=value)
        )


class _TeamScoped(django_filters.FilterSet):
    """``service`` and ``team`` of the reviewed incident, limited to what the caller sees."""

    service = django_filters.ModelChoiceFilter(
        field_name="incident__service",
        to_field_name="slug",
        queryset=Service.objects.none(),
        empty_label="All services",
        help_text="Service slug.",
    )
    team = TeamSlugFilter(
        label="Team",
        method="of_team",
        to_field_name="slug",
        queryset=Team.objects.none(),
        empty_label="All teams",
        help_text="Team slug: the incident's service's team or its owner team.",
    )

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = user or getattr(request, "user", None)
        self.filters["service"].queryset = visible_services(user)
        self.filters["team"].queryset = visible_teams(user)

    def of_team(self, queryset, name, value):
        return queryset.filter(_team_match(self.incident_prefix, value)) if value else queryset


class PostIncidentReviewFilterSet(_TeamScoped):
    incident_prefix = "incident__"
    status = django_filters.ChoiceFilter(
        choices=PostIncidentReview.Status.choices, empty_label="Draft or published"
    )
    overdue = StrictBooleanFilter(
        method="has_overdue",
        label="Overdue actions",
        help_text="true: with an open action past its due date.",
    )

    class Meta:
        model = PostIncidentReview
        fields = ["service", "team", "status", "overdue"]

    def has_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = PostIncidentReview.objects.filter(
            actions__status=ReviewAction.Status.OPEN, actions__due_on__lt=timezone.localdate()
        ).values("pk")
        return queryset.filter(pk__in=late) if value else queryset.exclude(pk__in=late)


class ReviewActionFilterSet(_TeamScoped):
    incident_prefix = "review__incident__"
    service = django_filters.ModelChoiceFilter(
        field_name="review__incident__service",
        to_field_name="slug",
        queryset=Service.objects.none(),
        help_text="Service slug.",
    )
    team = django_filters.ModelChoiceFilter(
        field_name="team",
        to_field_name="slug",
        queryset=Team.objects.none(),
        help_text="Team slug.",
    )
    status = django_filters.ChoiceFilter(choices=ReviewAction.Status.choices)
    overdue = StrictBooleanFilter(
        method="is_overdue", label="Overdue", help_text="true: open past its due date."
    )

    class Meta:
        model = ReviewAction
        fields = ["service", "team", "status", "overdue"]

    def is_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status=ReviewAction.Status.OPEN, due_on__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)
