"""The change requests' FilterSet, shared by the list page and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from pipelines.change_requests.linking import parse_key
from pipelines.models import ChangeRequest
from portal.access import visible_teams
from portal.filtersets import StrictBooleanFilter
from portal.models import Team

OPEN_STATUSES = [
    ChangeRequest.Status.INTAKE,
    ChangeRequest.Status.ACCEPTED,
    ChangeRequest.Status.IN_PROGRESS,
]


class ChangeRequestFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team",
        to_field_name="slug",
        queryset=Team.objects.none(),
        empty_label="All teams",
        help_text="Team slug.",
    )
    status = django_filters.ChoiceFilter(
        choices=ChangeRequest.Status.choices, empty_label="Any status"
    )
    urgency = django_filters.ChoiceFilter(
        choices=ChangeRequest.Urgency.choices, empty_label="Any urgency"
    )
    value = django_filters.ChoiceFilter(
        choices=ChangeRequest.Value.choices, empty_label="Any value"
    )
    open = StrictBooleanFilter(
        method="is_open",
        label="Open",
        help_text="true: in intake, accepted or in progress; false: delivered or rejected.",
    )
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        help_text="A key (CR-12), or words of the title, description or requester.",
    )

    class Meta:
        model = ChangeRequest
        fields = ["team", "status", "urgency", "value", "open", "q"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = user or getattr(request, "user", None)
        # Another team's slug is a 400 ("not one of the choices"), not a hint that it exists.
        self.filters["team"].queryset = visible_teams(user)

    def is_open(self, queryset, name, value):
        if value is None:
            return queryset
        match = Q(status__in=OPEN_STATUSES)
        return queryset.filter(match) if value else queryset.exclude(match)

    def search(self, queryset, name, value):
        value = value.strip()
        number = parse_key(value)
        if number is not None:
            return queryset.filter(number=number)
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(requester__icontains=value)
        )
