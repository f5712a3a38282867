"""Forms of the maturity pages; writes go through maturity.services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from maturity.catalogue import CatalogueError, parse_model
from maturity.models import PERIOD, Assessment, MaturityModel
from portal.exceptions import ApplicationError
from portal.models import Team
from portal.uploads import read_upload

LEVEL_CHOICES = [("", "Not rated"), *[(str(n), str(n)) for n in range(1, 6)]]


class AssessmentStartForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    model = forms.ModelChoiceField(queryset=MaturityModel.objects.none(), label="Model version")
    period = forms.CharField(
        max_length=7, validators=[PERIOD], help_text="A quarter such as 2026-Q4."
    )

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["model"].queryset = MaturityModel.objects.order_by("slug", "-version")


def _evidence(text: str) -> list[str]:
    links = [line.strip() for line in text.splitlines() if line.strip()]
    validate = URLValidator(schemes=["http", "https"])
    for link in links:
        try:
            validate(link)
        except ValidationError:
            raise ValidationError(f"Not a link: {link}") from None
    return links


class RatingsForm(forms.Form):
    """One level, comment, evidence links and evidence file field per capability."""

    def __init__(self, *args, assessment: Assessment, **kwargs):
        super().__init__(*args, **kwargs)
        self.ratings = list(assessment.ratings.select_related("capability__area"))
        for rating in self.ratings:
            key = rating.capability.key
            self.fields[f"level-{key}"] = forms.ChoiceField(
                choices=LEVEL_CHOICES, required=False, initial=rating.level or ""
            )
            self.fields[f"comment-{key}"] = forms.CharField(
                required=False,
                max_length=5000,
                initial=rating.comment,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"evidence-{key}"] = forms.CharField(
                required=False,
                max_length=5000,
                initial="\n".join(rating.evidence),
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"file-{key}"] = forms.FileField(required=False)

    def clean(self):
        data = super().clean()
        for rating in self.ratings:
            name = f"evidence-{rating.capability.key}"
            try:
                data[name] = _evidence(data.get(name, ""))
            except ValidationError as error:
                self.add_error(name, error)
            name = f"file-{rating.capability.key}"
            if data.get(name):
                try:
                    data[name] = read_upload(data[name])
                except ApplicationError as error:
                    self.add_error(name, error.message)
        return data

    def uploads(self) -> dict:
        """Capability key -> the evidence file (portal.uploads.Upload) sent with the form."""
        return {
            r.capability.key: self.cleaned_data[f"file-{r.capability.key}"]
            for r in self.ratings
            if self.cleaned_data.get(f"file-{r.capability.key}")
        }

    def changes(self) -> dict[str, dict]:
        """Capability key -> the fields that differ from what is stored."""
        changed = {}
        for rating in self.ratings:
            key = rating.capability.key
            value = {
                "level": int(self.cleaned_data[f"level-{key}"] or 0) or None,
                "comment": self.cleaned_data[f"comment-{key}"],
                "evidence": self.cleaned_data[f"evidence-{key}"],
            }
            stored = {"level": rating.level, "comment": rating.comment, "evidence": rating.evidence}
            if value != stored:
                changed[key] = value
        return changed

    def rows(self):
        """(rating, level, comment, evidence links, evidence file) fields in model order."""
        for rating in self.ratings:
            key = rating.capability.key
            yield (
                rating,
                *(self[f"{field}-{key}"] for field in ("level", "comment", "evidence", "file")),
            )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Sign off"), ("return", "Send back")])
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class TargetsForm(forms.Form):
    """One target level per capability of a model (blank: no target)."""

    def __init__(self, *args, capabilities, targets: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.capabilities = capabilities
        for capability in capabilities:
            self.fields[capability.key] = forms.ChoiceField(
                label=capability.name,
                choices=[("", "—"), *[(str(n), str(n)) for n in range(1, 6)]],
                required=False,
                initial=str(targets.get(capability.key, "")),
            )

    def levels(self) -> dict[str, int | None]:
        return {key: int(value) if value else None for key, value in self.cleaned_data.items()}


class ActionForm(forms.Form):
    team = forms.SlugField(widget=forms.HiddenInput)
    capability_key = forms.SlugField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=300)
    owner = forms.CharField(required=False, max_length=150)
    due_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class ModelYamlForm(forms.Form):
    """A maturity model as YAML (docs/maturity.md has the schema), typed or as a file."""

    yaml = forms.CharField(
        required=False,
        max_length=500_000,
        label="Model YAML",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "wrap": "off"}),
    )
    file = forms.FileField(required=False, label="or a YAML file")

    def clean(self):
        data = super().clean()
        text = data.get("yaml", "")
        if data.get("file"):
            try:
                text = read_upload(data["file"]).data.decode("utf-8")
            except ApplicationError as error:
                raise ValidationError(error.message) from None
            except UnicodeDecodeError:
                raise ValidationError("The file is not UTF-8 text.") from None
        if not text.strip():
            raise ValidationError("Paste the model's YAML or choose a file.")
        try:
            self.spec = parse_model(text)
        except CatalogueError as error:
            raise ValidationError(error.problems) from None
        return data
