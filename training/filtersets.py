"""The FilterSets of training resources, for the API and the pages."""

from __future__ import annotations

import django_filters

from portal.filtersets import visible_teams_of
from training.models import Skill, SkillRating, TrainingPlan


class SkillFilterSet(django_filters.FilterSet):
    capability = django_filters.CharFilter(
        field_name="capability_key", help_text="A maturity capability key."
    )

    class Meta:
        model = Skill
        fields = ["capability"]


class SkillRatingFilterSet(django_filters.FilterSet):
    skill = django_filters.CharFilter(field_name="skill__slug", help_text="A skill slug.")
    user = django_filters.CharFilter(field_name="user__username", help_text="A username.")
    team = django_filters.ModelChoiceFilter(
        field_name="user__memberships__team",
        to_field_name="slug",
        queryset=visible_teams_of,
        help_text="A team slug: its members' ratings.",
    )

    class Meta:
        model = SkillRating
        fields = ["skill", "user", "team"]


class TrainingPlanFilterSet(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=visible_teams_of, help_text="A team slug."
    )
    period = django_filters.CharFilter(help_text="A quarter, e.g. 2026-Q4.")

    class Meta:
        model = TrainingPlan
        fields = ["team", "period"]
