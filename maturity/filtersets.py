"""The FilterSet of assessments, for the API and the pages."""

from __future__ import annotations

import django_filters

from maturity.models import Assessment, MaturityModel
from portal.filtersets import visible_teams_of


class AssessmentFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=visible_teams_of, help_text="A team slug."
    )
    model = django_filters.CharFilter(field_name="model__slug", help_text="A model slug.")
    period = django_filters.CharFilter(help_text="A quarter, e.g. 2026-Q3.")
    status = django_filters.ChoiceFilter(choices=Assessment.Status.choices)

    class Meta:
        model = Assessment
        fields = ["team", "model", "period", "status"]


class MaturityModelFilterSet(django_filters.FilterSet):
    slug = django_filters.CharFilter()

    class Meta:
        model = MaturityModel
        fields = ["slug"]
