"""Filters of waivers and rules, shared by the waiver page and the API."""

from __future__ import annotations

import django_filters
from django.utils import timezone

from pipelines.filtersets import ScopedFilterSet
from pipelines.models import Policy, PolicyRule, Waiver
from pipelines.models.policies import RuleKind
from portal.filtersets import StrictBooleanFilter


class WaiverFilterSet(ScopedFilterSet):
    status = django_filters.ChoiceFilter(choices=Waiver.Status.choices)
    expired = StrictBooleanFilter(
        method="filter_expired", label="Expired", help_text="Past their expiry day."
    )
    rule = django_filters.ModelChoiceFilter(
        field_name="rule", to_field_name="key", queryset=PolicyRule.objects.all(), label="Rule"
    )

    class Meta:
        model = Waiver
        fields = ["service", "team", "rule", "status", "expired"]

    def filter_expired(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        return (
            queryset.filter(expires_on__lt=today)
            if value
            else queryset.exclude(expires_on__lt=today)
        )


class PolicyRuleFilterSet(django_filters.FilterSet):
    policy = django_filters.ModelChoiceFilter(
        field_name="policy", to_field_name="slug", queryset=Policy.objects.all()
    )
    kind = django_filters.ChoiceFilter(choices=RuleKind.choices)
    is_active = StrictBooleanFilter()

    class Meta:
        model = PolicyRule
        fields = ["policy", "kind", "is_active"]
