"""One FilterSet per resource, used by both the list pages and the API (NetBox's pattern)."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from portal.access import visible_teams
from portal.models import Environment, Service, Team


class StrictBooleanField(forms.Field):
    """true/false/1/0 or nothing; anything else (django-filter's default reads "null" and
    "unknown" as "no filter") is a 400."""

    widget = forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])

    def to_python(self, value):
        word = str(value).strip().lower() if value is not None else ""
        if word == "":
            return None
        if word in {"true", "1"}:
            return True
        if word in {"false", "0"}:
            return False
        raise forms.ValidationError("Use true or false.")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcDateTimeField(IsoDateTimeField):
    """ISO 8601 with any offset Python accepts, turned into UTC: PostgreSQL refuses offsets
    beyond 15:59, and a query should not fail on a legal timestamp."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Date and time out of range.") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Team
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class ServiceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(
        field_name="team",
        to_field_name="slug",
        queryset=Team.objects.all(),
        empty_label="All teams",
        help_text="Team slug.",
    )
    tier = django_filters.ChoiceFilter(choices=Service.Tier.choices, empty_label="Any tier")

    class Meta:
        model = Service
        fields = ["q", "team", "tier"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = user or getattr(request, "user", None)
        # Only the caller's visible teams are choices: another team's slug is a 400, not a hint.
        self.filters["team"].queryset = visible_teams(user)

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(slug__icontains=value) | Q(description__icontains=value)
        )


class EnvironmentFilterSet(django_filters.FilterSet):
    is_production = StrictBooleanFilter()

    class Meta:
        model = Environment
        fields = ["is_production"]


def visible_teams_of(request):
    """A filter's choices: the teams the request's user may see (none without a request)."""
    return visible_teams(request.user) if request else Team.objects.none()
