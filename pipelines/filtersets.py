"""Filters for delivery records, shared by the record pages and the API."""

from __future__ import annotations

import django_filters

from pipelines.models import Change, Deployment, JobRun, PipelineRun
from portal.access import visible_services, visible_teams
from portal.filtersets import StrictBooleanFilter, UtcDateTimeFilter
from portal.models import Environment, Service

STATUS_CHOICES = [
    (value, value)
    for value in ("queued", "running", "success", "failure", "cancelled", "skipped", "other")
]


class ScopedFilterSet(django_filters.FilterSet):
    """Service and team choices limited to what the caller may see (a foreign slug is a 400)."""

    service = django_filters.ModelChoiceFilter(
        field_name="service",
        to_field_name="slug",
        queryset=Service.objects.all(),
        help_text="Service slug.",
    )
    team = django_filters.ModelChoiceFilter(
        label="Team",
        field_name="service__team",
        to_field_name="slug",
        queryset=Service.objects.none(),
        help_text="Team slug.",
    )

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, user=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = user or getattr(request, "user", None)
        self.filters["service"].queryset = visible_services(user)
        self.filters["team"].queryset = visible_teams(user)


def _time_range(field: str) -> tuple:
    return (
        UtcDateTimeFilter(
            field_name=field,
            lookup_expr="gte",
            label="From",
            help_text=f"{field} at or after (ISO 8601).",
        ),
        UtcDateTimeFilter(
            field_name=field,
            lookup_expr="lt",
            label="Until",
            help_text=f"{field} before (ISO 8601).",
        ),
    )


class PipelineRunFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES)
    branch = django_filters.CharFilter()
    since, until = _time_range("created_at")

    class Meta:
        model = PipelineRun
        fields = ["service", "team", "status", "branch", "since", "until"]


class JobRunFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="run__service__slug")
    run = django_filters.NumberFilter(field_name="run_id")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES)
    since, until = _time_range("started_at")

    class Meta:
        model = JobRun
        fields = ["service", "run", "status", "since", "until"]


class DeploymentFilterSet(ScopedFilterSet):
    environment = django_filters.ModelChoiceFilter(
        field_name="environment", to_field_name="slug", queryset=Environment.objects.all()
    )
    production = StrictBooleanFilter(field_name="environment__is_production", label="Production")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES)
    since, until = _time_range("finished_at")

    class Meta:
        model = Deployment
        fields = ["service", "team", "environment", "production", "status", "since", "until"]


class ChangeFilterSet(ScopedFilterSet):
    since, until = _time_range("committed_at")

    class Meta:
        model = Change
        fields = ["service", "team", "since", "until"]
