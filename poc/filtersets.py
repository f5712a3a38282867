"""The FilterSets of POCs and radar entries, for the API and the pages."""

from __future__ import annotations

import django_filters

from poc.models import Outcome, Poc, Quadrant, RadarEntry, Ring
from portal.filtersets import visible_teams_of


class PocFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=visible_teams_of, help_text="A team slug."
    )
    status = django_filters.ChoiceFilter(choices=Poc.Status.choices)
    outcome = django_filters.ChoiceFilter(
        field_name="decision__outcome", choices=Outcome.choices, help_text="The decision's outcome."
    )
    problem = django_filters.CharFilter(
        field_name="problem_key", help_text="POCs for the same problem share this key."
    )
    tool = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Poc
        fields = ["team", "status", "outcome", "problem", "tool"]


class RadarEntryFilterSet(django_filters.FilterSet):
    quadrant = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=Quadrant.objects.all(), help_text="A quadrant slug."
    )
    ring = django_filters.ChoiceFilter(choices=Ring.choices)
    moved_since = django_filters.DateFilter(
        field_name="moved_at",
        lookup_expr="date__gte",
        label="Moved since",
        help_text="Entries placed or moved on or after this date.",
    )

    class Meta:
        model = RadarEntry
        fields = ["quadrant", "ring", "moved_since"]
