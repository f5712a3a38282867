"""The CI source form (add and edit in the browser); writes go through pipelines.services."""

from __future__ import annotations

import re

from django import forms

from pipelines.models import CISource
from portal.models import Service

REPOSITORY_LINE = re.compile(r"^\s*(?P<name>\S+)\s*(?:=|->|\s)\s*(?P<service>[-a-zA-Z0-9_]+)\s*$")
KINDS = [(k.value, k.label) for k in CISource.Kind if k != CISource.Kind.PUSH]


class SourceForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS)
    name = forms.CharField(max_length=100)
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="GitHub: https://api.github.com/ (default) or https://HOST/api/v3/ for "
        "Enterprise. GitLab: https://HOST/api/v4/. Jenkins: the server's URL.",
    )
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="A read-only API token. Jenkins: user:apitoken. Stored encrypted; never shown.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The secret the CI system signs webhooks with. Stored encrypted.",
    )
    repositories = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "acme/cart-api = cart-api"}),
        help_text="One per line: repository = service slug. GitHub owner/repo, GitLab project "
        "path or id, Jenkins job full name.",
    )
    poll_interval_seconds = forms.IntegerField(
        label="Poll every (seconds)", min_value=60, initial=300
    )
    backfill_days = forms.IntegerField(
        label="First sync reads (days)", min_value=1, max_value=3650, initial=90
    )
    deployment_pattern = forms.CharField(
        required=False,
        initial=r"(?i)deploy",
        help_text="Jenkins: a regular expression; jobs or stages it matches are deployments.",
    )
    incident_label = forms.CharField(
        initial="incident", max_length=100, help_text="Issues with this label are incidents."
    )

    def __init__(self, *args, editing: CISource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing is not None:
            self.fields["kind"].disabled = True
            for name in ("token", "webhook_secret"):
                self.fields[name].help_text += " Leave blank to keep the stored one."

    @classmethod
    def initial_for(cls, source: CISource) -> dict:
        return {
            "kind": source.kind,
            "name": source.name,
            "base_url": source.base_url,
            "repositories": "\n".join(f"{r['name']} = {r['service']}" for r in source.repositories),
            "poll_interval_seconds": source.poll_interval_seconds,
            "backfill_days": source.backfill_days,
            "deployment_pattern": source.deployment_pattern,
            "incident_label": source.incident_label,
        }

    def clean_repositories(self) -> list[dict[str, str]]:
        entries, errors = [], []
        known = set(Service.objects.values_list("slug", flat=True))
        for number, line in enumerate(self.cleaned_data["repositories"].splitlines(), start=1):
            if not line.strip():
                continue
            match = REPOSITORY_LINE.match(line)
            if match is None:
                errors.append(f"Line {number}: write it as “repository = service-slug”.")
            elif match["service"] not in known:
                errors.append(f"Line {number}: there is no service “{match['service']}”.")
            else:
                entries.append({"name": match["name"], "service": match["service"]})
        names = [entry["name"] for entry in entries]
        if len(names) != len(set(names)):
            errors.append("Each repository may appear once.")
        if errors:
            raise forms.ValidationError(errors)
        if not entries:
            raise forms.ValidationError("Map at least one repository to a service.")
        return entries

    def clean_deployment_pattern(self) -> str:
        # Validity is the service's rule (pipelines.services); its error lands on this field.
        return self.cleaned_data["deployment_pattern"] or r"(?i)deploy"

    def service_arguments(self) -> dict:
        """The cleaned data as arguments of source_create/source_update."""
        data = dict(self.cleaned_data)
        for secret in ("token", "webhook_secret"):
            if self.editing is not None and not data[secret]:
                data.pop(secret)  # blank on edit: keep the stored secret
        if self.editing is not None:
            data.pop("kind")
        return data
