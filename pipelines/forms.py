"""The CI source form (add and edit in the browser); writes go through pipelines.services.

One form for every kind: ``FIELD_KINDS`` says which kinds a field is for, the page shows only
those (``rows``), and ``clean`` asks only what the chosen kind needs."""

from __future__ import annotations

import re

from django import forms

from pipelines.models import CISource, Severity
from portal.models import Service

# "name = service" (the name may have spaces: a PagerDuty service's name), or "name service".
REPOSITORY_LINE = re.compile(
    r"^\s*(?P<name>\S(?:.*?\S)?)\s*(?:=|->)\s*(?P<service>[-a-zA-Z0-9_]+)\s*$"
)
REPOSITORY_PAIR = re.compile(r"^\s*(?P<name>\S+)\s+(?P<service>[-a-zA-Z0-9_]+)\s*$")
BUILT_IN = {CISource.Kind.PUSH, CISource.Kind.PORTAL}
KINDS = [(k.value, k.label) for k in CISource.Kind if k not in BUILT_IN]
CI = {CISource.Kind.GITHUB, CISource.Kind.GITLAB, CISource.Kind.JENKINS}
MONITORING = {CISource.Kind.ALERTMANAGER, CISource.Kind.PAGERDUTY, CISource.Kind.OPSGENIE}
POLLED = CI | {CISource.Kind.PAGERDUTY, CISource.Kind.OPSGENIE}
# Fields shown for some kinds only (the others are for every kind).
FIELD_KINDS = {
    "token": POLLED | {CISource.Kind.PROMETHEUS},
    "webhook_secret": CI | MONITORING,
    "repositories": CI | MONITORING,
    "poll_interval_seconds": POLLED,
    "backfill_days": POLLED,
    "deployment_pattern": {CISource.Kind.JENKINS},
    "incident_label": {CISource.Kind.GITHUB, CISource.Kind.GITLAB},
    "service_label": {CISource.Kind.ALERTMANAGER, CISource.Kind.OPSGENIE},
    "min_severity": MONITORING,
}
# Kinds whose records come only from the repositories mapped (monitoring tools that name the
# service in each alert need none).
NEEDS_REPOSITORIES = CI | {CISource.Kind.PAGERDUTY}
DEFAULTS = {
    "poll_interval_seconds": 300,
    "backfill_days": 90,
    "deployment_pattern": r"(?i)deploy",
    "incident_label": "incident",
    "service_label": "service",
}


class SourceForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS)
    name = forms.CharField(max_length=100)
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="GitHub: https://api.github.com/ (default) or https://HOST/api/v3/ for "
        "Enterprise. GitLab: https://HOST/api/v4/. Jenkins, Alertmanager, Prometheus: the "
        "server's URL. PagerDuty: https://api.pagerduty.com/ (default). Opsgenie: "
        "https://api.opsgenie.com/ (default) or https://api.eu.opsgenie.com/.",
    )
    token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="A read-only API token. Jenkins: user:apitoken. PagerDuty: a read-only REST "
        "API key. Opsgenie: an API integration's key. Stored encrypted; never shown.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The secret the tool signs or authenticates its webhooks with (PagerDuty: "
        "the subscription's signing secret). Stored encrypted.",
    )
    repositories = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "acme/cart-api = cart-api"}),
        help_text="One per line: name = service slug. GitHub owner/repo, GitLab project "
        "path or id, Jenkins job full name, PagerDuty service id or name. Alertmanager and "
        "Opsgenie (optional): a label value or tag naming a service other than by its slug.",
    )
    poll_interval_seconds = forms.IntegerField(
        label="Poll every (seconds)", min_value=60, initial=300, required=False
    )
    backfill_days = forms.IntegerField(
        label="First sync reads (days)", min_value=1, max_value=3650, initial=90, required=False
    )
    deployment_pattern = forms.CharField(
        required=False,
        initial=r"(?i)deploy",
        help_text="Jenkins: a regular expression; jobs or stages it matches are deployments.",
    )
    incident_label = forms.CharField(
        initial="incident",
        max_length=100,
        required=False,
        help_text="Issues with this label are incidents.",
    )
    service_label = forms.CharField(
        initial="service",
        max_length=100,
        required=False,
        help_text="The alert label (Opsgenie: the tag prefix, as in service:cart-api) whose "
        "value is the service's slug.",
    )
    min_severity = forms.ChoiceField(
        label="Minimum severity",
        required=False,
        choices=[("", "None: every alert opens an incident"), *Severity.choices],
        help_text="Less severe alerts open no incident (docs/monitoring-sources.md has how "
        "each tool's severities map).",
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
            "service_label": source.service_label,
            "min_severity": source.min_severity,
        }

    def rows(self) -> list[tuple[forms.BoundField, str]]:
        """Visible fields with the kinds they are for ("": every kind), for the page."""
        return [
            (self[name], " ".join(sorted(FIELD_KINDS.get(name, ()))))
            for name in self.fields
            if not self[name].is_hidden
        ]

    def clean_repositories(self) -> list[dict[str, str]]:
        entries, errors = [], []
        known = set(Service.objects.values_list("slug", flat=True))
        for number, line in enumerate(self.cleaned_data["repositories"].splitlines(), start=1):
            if not line.strip():
                continue
            match = REPOSITORY_LINE.match(line) or REPOSITORY_PAIR.match(line)
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
        return entries

    def clean(self) -> dict:
        # Validity of the pattern is the service's rule (pipelines.services).
        data = super().clean()
        for name, default in DEFAULTS.items():
            if data.get(name) in (None, ""):
                data[name] = default
        kind = self.editing.kind if self.editing is not None else data.get("kind")
        unmapped = not data.get("repositories") and "repositories" not in self.errors
        if kind in NEEDS_REPOSITORIES and unmapped:
            what = "PagerDuty service" if kind == CISource.Kind.PAGERDUTY else "repository"
            self.add_error("repositories", f"Map at least one {what} to a service.")
        return data

    def service_arguments(self) -> dict:
        """The cleaned data as arguments of source_create/source_update."""
        data = dict(self.cleaned_data)
        for secret in ("token", "webhook_secret"):
            if self.editing is not None and not data[secret]:
                data.pop(secret)  # blank on edit: keep the stored secret
        if self.editing is not None:
            data.pop("kind")
        return data
