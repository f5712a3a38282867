"""The filter of template assignments and their conformance, shared by the page and the API."""

from __future__ import annotations

import django_filters

from pipelines.filtersets import ScopedFilterSet
from pipelines.models import PipelineTemplate, ServiceTemplate


class AssignmentFilterSet(ScopedFilterSet):
    """By service, team (both limited to what the caller sees) and template."""

    template = django_filters.ModelChoiceFilter(
        field_name="template",
        to_field_name="slug",
        queryset=PipelineTemplate.objects.all(),
        help_text="Template slug.",
    )

    class Meta:
        model = ServiceTemplate
        fields = ["service", "team", "template"]
