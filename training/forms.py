"""Forms of the training pages; writes go through training.services."""

from __future__ import annotations

from django import forms

from maturity.models import PERIOD
from training.models import PROFICIENCY_NAMES, Skill, TrainingItem

PROFICIENCY_CHOICES = [(str(n), f"{n} {name}") for n, name in PROFICIENCY_NAMES.items()]


class PlanForm(forms.Form):
    team = forms.ModelChoiceField(queryset=None, to_field_name="slug")
    period = forms.CharField(max_length=7, validators=[PERIOD], help_text="A quarter: 2026-Q4.")
    budget = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class ItemForm(forms.Form):
    kind = forms.ChoiceField(choices=TrainingItem.Kind.choices)
    title = forms.CharField(max_length=300)
    skill = forms.ModelChoiceField(
        queryset=Skill.objects.all(), required=False, to_field_name="slug"
    )
    starts_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cost = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, initial=0)
    attendees = forms.ModelMultipleChoiceField(queryset=None, required=False)
    reason = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = people


class DoneForm(forms.Form):
    status = forms.ChoiceField(choices=TrainingItem.Status.choices)
    evidence = forms.URLField(required=False, max_length=500, assume_scheme="https")


class SelfRatingForm(forms.Form):
    skill = forms.ModelChoiceField(queryset=Skill.objects.all(), to_field_name="slug")
    level = forms.TypedChoiceField(choices=PROFICIENCY_CHOICES, coerce=int)
