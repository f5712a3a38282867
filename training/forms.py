"""Forms of the training pages; writes go through training.services."""

from __future__ import annotations

from django import forms

from maturity.models import PERIOD
from portal.models import Role
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
    starts_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
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


# The roles that do the work; viewers and stakeholders get no proficiency targets.
TARGET_ROLES = [(Role.MEMBER, "Member"), (Role.LEAD, "Lead")]
TARGET_CHOICES = [("", "—"), *PROFICIENCY_CHOICES]


class SkillForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=100, help_text="Its name in the API, e.g. observability.")
    capability_key = forms.ChoiceField(label="Maturity capability it builds", required=False)
    tool = forms.CharField(max_length=200, required=False, help_text="A tool it is about, if any.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, capabilities: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["capability_key"].choices = [("", "—"), *capabilities.items()]


class RoleTargetsForm(forms.Form):
    """One target proficiency per skill and working role (blank: no target)."""

    def __init__(self, *args, skills, **kwargs):
        super().__init__(*args, **kwargs)
        self.skills = skills
        for skill in skills:
            stored = {t.role: t.level for t in skill.targets.all()}
            for role, label in TARGET_ROLES:
                self.fields[f"{skill.slug}-{role}"] = forms.ChoiceField(
                    label=f"{skill.name}, {label.lower()}",
                    choices=TARGET_CHOICES,
                    required=False,
                    initial="" if stored.get(role) is None else str(stored[role]),
                )

    def rows(self):
        """(skill, [its field per role]) for the template."""
        return [(s, [self[f"{s.slug}-{role}"] for role, _ in TARGET_ROLES]) for s in self.skills]

    def changed_levels(self):
        """(skill, {role: level or None}) for the skills whose targets changed."""
        for skill in self.skills:
            levels = {}
            for role, _label in TARGET_ROLES:
                name = f"{skill.slug}-{role}"
                if name in self.changed_data:
                    value = self.cleaned_data[name]
                    levels[str(role)] = int(value) if value != "" else None
            if levels:
                yield skill, levels
