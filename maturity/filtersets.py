"""The FilterSet of assessments, for the API and the pages."""

from __future__ import annotations

import django_filters

from maturity.models import Assessment, MaturityModel
from portal.access import visible_teams
from portal.models import Team


def _teams(request):
    return visible_teams(request.user) if request else Team.objects.none()


class AssessmentFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=_teams, help_text="A team slug."
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
