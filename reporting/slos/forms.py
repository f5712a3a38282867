"""The SLO form of the SLO pages; writes go through reporting.slos.services."""

from __future__ import annotations

from django import forms

from pipelines.models import CISource, Severity
from reporting.slos.models import Slo
from reporting.slos.services import MAX_LATENCY_MS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS

QUERY_HELP = (
    "PromQL giving one value per step. Ratio: good / total, e.g. "
    'sum(rate(http_requests_total{job="cart",code!~"5.."}[5m])) / '
    'sum(rate(http_requests_total{job="cart"}[5m])). Latency: the share of requests under the '
    "threshold (histogram bucket le / count), or a latency in seconds such as "
    "histogram_quantile(0.95, ...) with “A latency in seconds” below."
)


class SloForm(forms.Form):
    service = forms.ModelChoiceField(queryset=None, to_field_name="slug")
    name = forms.CharField(max_length=200, help_text="e.g. “Availability” or “Checkout latency”.")
    kind = forms.ChoiceField(choices=Slo.Kind.choices)
    objective = forms.FloatField(
        min_value=0.001,
        max_value=99.999,
        help_text="Percent of good time or requests, e.g. 99.9 (availability) or 95 (95 % of "
        "requests under the threshold: “p95 under 300 ms”).",
    )
    window_days = forms.IntegerField(
        min_value=MIN_WINDOW_DAYS, max_value=MAX_WINDOW_DAYS, initial=28, label="Window (days)"
    )
    latency_threshold_ms = forms.IntegerField(
        min_value=1,
        max_value=MAX_LATENCY_MS,
        required=False,
        label="Latency threshold (ms)",
        help_text="Latency objectives only.",
    )
    measurement = forms.ChoiceField(
        choices=Slo.Measurement.choices,
        help_text="Incidents: the service is down from an incident's opening to its mitigation "
        "(or resolution). Prometheus: a query over your metrics.",
    )
    incident_severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Incidents only: count these severities; none ticked counts every incident.",
    )
    prometheus_source = forms.ModelChoiceField(
        queryset=CISource.objects.filter(kind=CISource.Kind.PROMETHEUS),
        to_field_name="slug",
        required=False,
        help_text="Prometheus only: a source of kind Prometheus (Sources page).",
    )
    query = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text=QUERY_HELP
    )
    query_result = forms.ChoiceField(choices=Slo.QueryResult.choices, label="The query gives")
    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "oncall@example.com"}),
        help_text="Who hears about fast and slow burns, one address per line.",
    )
    webhook_url = forms.URLField(
        label="Chat webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Receives a JSON POST with a 'text' field (Slack, Mattermost, Teams).",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, services=None, slo: Slo | None = None, **kwargs):
        if slo is not None:
            kwargs.setdefault("initial", {}).update(
                {name: getattr(slo, name) for name in self.base_fields if name != "service"}
                | {"prometheus_source": slo.prometheus_source}
            )
        super().__init__(*args, **kwargs)
        if slo is not None:
            del self.fields["service"]  # an SLO stays with its service
        else:
            self.fields["service"].queryset = services

    def clean(self):
        """Drop what the chosen measurement and kind do not use (the page shows every field)."""
        data = super().clean()
        if data.get("measurement") == Slo.Measurement.INCIDENTS:
            data.update(prometheus_source=None, query="", query_result=Slo.QueryResult.RATIO)
        elif data.get("measurement") == Slo.Measurement.PROMETHEUS:
            data["incident_severities"] = []
        if data.get("kind") == Slo.Kind.AVAILABILITY:
            data["latency_threshold_ms"] = None
        return data

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data["incident_severities"] = list(data.get("incident_severities") or [])
        return data
