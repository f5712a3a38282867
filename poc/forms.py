"""Forms of the POC and radar pages; writes go through poc.services and poc.radar_services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from poc.models import FollowUp, Outcome, Quadrant, Ring

User = get_user_model()
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProposeForm(forms.Form):
    title = forms.CharField(max_length=200)
    tool = forms.CharField(max_length=200, help_text="The tool or technique tried.")
    quadrant = forms.ModelChoiceField(queryset=Quadrant.objects.all(), to_field_name="slug")
    team = forms.ModelChoiceField(queryset=None, to_field_name="slug")
    problem = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    problem_key = forms.SlugField(
        required=False,
        label="Problem key",
        help_text="POCs for the same problem share it and are compared, e.g. orchestration.",
    )
    hypothesis = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    success_criteria = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    starts_on = forms.DateField(widget=DATE)
    ends_on = forms.DateField(widget=DATE, label="Time box ends")
    budget = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, initial=0)
    evaluators = forms.ModelMultipleChoiceField(
        queryset=None, to_field_name="username", required=False
    )

    def __init__(self, *args, teams, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["evaluators"].queryset = people
        self.fields["evaluators"].label_from_instance = lambda u: u.get_full_name() or u.username


def _criteria(text: str) -> list[tuple[str, str, Decimal]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, weight = line.rpartition("=")
        try:
            value = Decimal(weight.strip())
        except InvalidOperation:
            raise ValidationError(f"Line {number}: write it as “Name = weight”.") from None
        if not name.strip():
            raise ValidationError(f"Line {number}: name the criterion.")
        rows.append((slugify(name)[:60], name.strip(), value))
    return rows


class CriteriaForm(forms.Form):
    criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 7}),
        help_text="One per line: “Name = weight”; weights are positive numbers.",
    )

    def clean_criteria(self):
        return _criteria(self.cleaned_data["criteria"])


class EvaluationForm(forms.Form):
    """A score 1-5 and a note per criterion of the POC."""

    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            self.fields[f"score-{criterion.key}"] = forms.TypedChoiceField(
                label=f"{criterion.name} (x{criterion.weight.normalize()})",
                choices=[("", "—"), *[(str(n), str(n)) for n in range(1, 6)]],
                coerce=int,
            )
            self.fields[f"note-{criterion.key}"] = forms.CharField(
                required=False, max_length=2000, label="Note"
            )

    def rows(self):
        return [(self[f"score-{c.key}"], self[f"note-{c.key}"]) for c in self.criteria]

    def scores(self) -> dict[str, tuple[int, str]]:
        return {
            c.key: (self.cleaned_data[f"score-{c.key}"], self.cleaned_data[f"note-{c.key}"])
            for c in self.criteria
        }


class EvidenceForm(forms.Form):
    title = forms.CharField(max_length=200)
    url = forms.URLField(required=False, max_length=500, label="Link", assume_scheme="https")
    measurement = forms.CharField(
        required=False, max_length=300, help_text="A measured result: “p95 build 9 min → 4 min”."
    )
    file = forms.FileField(required=False)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    conditions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    review_by = forms.DateField(required=False, widget=DATE, label="Review by")
    training = forms.CharField(required=False, max_length=300, label="Follow-up: training need")
    roadmap = forms.CharField(required=False, max_length=300, label="Follow-up: roadmap item")
    pipeline_template = forms.CharField(
        required=False, max_length=300, label="Follow-up: pipeline template change"
    )

    def follow_ups(self) -> list[tuple[str, str]]:
        return [
            (kind, self.cleaned_data[kind])
            for kind in FollowUp.Kind.values
            if self.cleaned_data.get(kind, "").strip()
        ]


class CommentForm(forms.Form):
    comment = forms.CharField(required=False, max_length=5000)


class RadarEntryForm(forms.Form):
    name = forms.CharField(max_length=200)
    quadrant = forms.ModelChoiceField(queryset=Quadrant.objects.all(), to_field_name="slug")
    ring = forms.ChoiceField(choices=Ring.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    adoption_pattern = forms.CharField(
        required=False, max_length=200, help_text="Job or stage names that show it in use: *trivy*"
    )
    reason = forms.CharField(max_length=5000, help_text="Why it goes in that ring.")


class MoveForm(forms.Form):
    ring = forms.ChoiceField(choices=Ring.choices)
    reason = forms.CharField(max_length=5000)
