"""Forms of the policy pages; writes go through pipelines.policies.services."""

from __future__ import annotations

import json

from django import forms

from pipelines.models import Policy, PolicyRule
from pipelines.models.policies import RuleKind
from pipelines.policies.services import MAX_WINDOW_DAYS

# ISO dates: a date input shows nothing for a value in the locale's format.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PARAMS_HELP = (
    'A JSON object, e.g. {"also_allowed": ["release/*"]} or {"hours": 12}; leave empty for the '
    "kind's defaults (docs/policies.md lists them)."
)


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=200)
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What the policy asks, in words. Each edit keeps the previous text as a version.",
    )


class ParamsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        kwargs.setdefault("help_text", PARAMS_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value).strip()
        if not value:
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not JSON: {error.msg}.") from None
        if not isinstance(parsed, dict):
            raise forms.ValidationError('A JSON object is required, e.g. {"hours": 12}.')
        return parsed

    def prepare_value(self, value):
        return json.dumps(value) if isinstance(value, dict) else value


class RuleForm(forms.Form):
    policy = forms.ModelChoiceField(queryset=Policy.objects.all(), to_field_name="slug")
    kind = forms.ChoiceField(choices=RuleKind.choices)
    key = forms.SlugField(
        max_length=100, required=False, help_text="Unique; default <policy>-<kind> (with hyphens)."
    )
    params = ParamsField()
    window_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_WINDOW_DAYS,
        initial=30,
        help_text="How many days of delivery data each evaluation checks.",
    )

    def __init__(self, *args, policy: Policy | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if policy is not None:  # on the policy's own page
            del self.fields["policy"]
        self.policy = policy

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        data.setdefault("policy", self.policy)
        return data


class RuleEditForm(forms.Form):
    params = ParamsField()
    window_days = forms.IntegerField(min_value=1, max_value=MAX_WINDOW_DAYS)
    is_active = forms.BooleanField(required=False, label="Checked (active)")

    @classmethod
    def for_rule(cls, rule: PolicyRule, data=None):
        return cls(
            data,
            prefix=f"rule-{rule.key}",
            initial={
                "params": rule.params,
                "window_days": rule.window_days,
                "is_active": rule.is_active,
            },
        )


class WaiverRequestForm(forms.Form):
    rule = forms.ModelChoiceField(
        queryset=PolicyRule.objects.filter(is_active=True).select_related("policy"),
        to_field_name="key",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the rule cannot be met for now, and what will change.",
    )
    expires_on = forms.DateField(
        widget=DATE, help_text="The last day it applies: after today, at most a year ahead."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].label_from_instance = lambda r: f"{r.policy.name}: {r.key}"


class WaiverDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("grant", "Grant"), ("refuse", "Refuse")])
    comment = forms.CharField(required=False, max_length=2000)
