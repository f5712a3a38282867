"""The FilterSets of initiatives and deliverables, for the API and the pages."""

from __future__ import annotations

from datetime import date

import django_filters
from django.core.validators import RegexValidator

from portal.filtersets import visible_teams_of
from roadmap.models import Deliverable, Initiative, Roadmap
from roadmap.rag import Rag
from roadmap.selectors import rag_of

QUARTER = RegexValidator(r"^[1-9][0-9]{3}-Q[1-4]$", "A quarter such as 2027-Q1.")


def quarter_of(day: date) -> str:
    """``2027-Q1``: the quarter a day falls in."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[date, date]:
    """The first and last day of ``2027-Q1``."""
    year, number = int(quarter[:4]), int(quarter[-1])
    first = date(year, 3 * number - 2, 1)
    last = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


class InitiativeFilterSet(django_filters.FilterSet):
    roadmap = django_filters.ModelChoiceFilter(
        field_name="theme__roadmap",
        to_field_name="slug",
        queryset=Roadmap.objects.all(),
        help_text="A roadmap slug.",
    )
    theme = django_filters.CharFilter(
        field_name="theme__slug", help_text="A theme slug (unique within its roadmap)."
    )
    status = django_filters.ChoiceFilter(choices=Initiative.Status.choices)
    team = django_filters.ModelChoiceFilter(
        field_name="teams",
        to_field_name="slug",
        queryset=visible_teams_of,
        help_text="A team slug.",
    )
    quarter = django_filters.CharFilter(
        method="in_quarter",
        validators=[QUARTER],
        help_text="Initiatives starting in this quarter, e.g. 2027-Q1.",
    )

    class Meta:
        model = Initiative
        fields = ["roadmap", "theme", "status", "team", "quarter"]

    def in_quarter(self, queryset, name, value):
        first, last = quarter_bounds(value)
        return queryset.filter(starts_on__range=(first, last))


class DeliverableFilterSet(django_filters.FilterSet):
    roadmap = django_filters.ModelChoiceFilter(
        field_name="initiative__theme__roadmap",
        to_field_name="slug",
        queryset=Roadmap.objects.all(),
        help_text="A roadmap slug.",
    )
    initiative = django_filters.ModelChoiceFilter(
        to_field_name="slug", queryset=Initiative.objects.all(), help_text="An initiative slug."
    )
    team = django_filters.ModelChoiceFilter(
        field_name="team", to_field_name="slug", queryset=visible_teams_of, help_text="A team slug."
    )
    status = django_filters.ChoiceFilter(choices=Deliverable.Status.choices)
    due_before = django_filters.DateFilter(
        field_name="due_on", lookup_expr="lte", help_text="Due on or before this day."
    )
    due_after = django_filters.DateFilter(
        field_name="due_on", lookup_expr="gte", help_text="Due on or after this day."
    )
    # Declared last: django-filter applies filters in declaration order, so the colours are
    # computed only for the rows the other filters kept.
    rag = django_filters.ChoiceFilter(
        choices=[(colour.value, colour.value) for colour in Rag],
        method="of_colour",
        help_text="The overall red/amber/green colour. Computed per deliverable after the "
        "other filters (measured targets read delivery data), so it suits lists of a few "
        "hundred deliverables, not more.",
    )

    class Meta:
        model = Deliverable
        fields = ["roadmap", "initiative", "team", "status", "due_before", "due_after", "rag"]

    def of_colour(self, queryset, name, value):
        return queryset.filter(pk__in=[d.pk for d in queryset if colour_of(d) == value])


def colour_of(deliverable: Deliverable) -> str:
    return rag_of(deliverable).rag.colour
