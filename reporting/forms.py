"""The alert rule form; writes go through reporting.services."""

from __future__ import annotations

from django import forms

from portal.models import Service, Team
from reporting.models import AlertRule

FIELDS = [
    "name",
    "kind",
    "metric",
    "comparison",
    "threshold",
    "window_days",
    "hours",
    "team",
    "service",
    "emails",
    "webhook_url",
    "is_active",
]


class AlertRuleForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label="Chat webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Receives a JSON POST with a 'text' field (Slack, Mattermost, Teams).",
    )

    class Meta:
        model = AlertRule
        fields = FIELDS
        labels = {
            "window_days": "Measured over (days)",
            "hours": "For at least (hours)",
            "is_active": "Active",
        }
        widgets = {"emails": forms.Textarea(attrs={"rows": 3, "placeholder": "lee@example.com"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["service"].queryset = Service.objects.order_by("name")
        self.fields["team"].help_text = "Leave team and service empty for the whole organisation."
        self.fields["metric"].help_text = "DORA rules only."
