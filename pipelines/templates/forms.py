"""Forms of the template pages. A version's stages are edited as text, one stage a line:

    name | kind | gate | environment | match

Only name and kind are required; blank lines and lines starting with # are skipped. The rules
are the service's (``stages.stage_problems``); problems are reported by line number.
"""

from __future__ import annotations

from django import forms

from pipelines.models import PipelineTemplate
from pipelines.templates.services import stage_specs
from pipelines.templates.stages import KINDS, describe, stage_problems
from portal.models import Service, Team

STAGES_HELP = (
    "One stage a line, in order: name | kind | gate | environment | match. Kinds: "
    + ", ".join(KINDS)
    + ". Gates like coverage >= 80% and critical_vulnerabilities == 0. Deploy stages name an "
    "environment slug. Match: job-name patterns separated by |, blank for the usual names."
)
FIELDS = ("name", "kind", "gate", "environment", "match")


def stages_text(version) -> str:
    """A version's stages as the form's text (trailing blank columns left out)."""
    lines = []
    for stage in version.stages.all():
        env = stage.environment.slug if stage.environment else ""
        # match patterns contain | themselves: the column is the rest of the line
        columns = [stage.name, stage.kind, stage.gate, env, stage.match]
        while columns and not columns[-1]:
            columns.pop()
        lines.append(" | ".join(columns))
    return "\n".join(lines)


def parse_stages(text: str) -> tuple[list[dict], list[int], list[str]]:
    """The stages of ``text`` as service input, the line number of each, and the lines that
    could not be read at all."""
    stages, numbers, errors = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = [c.strip() for c in line.split("|", len(FIELDS) - 1)]
        if len(columns) < 2:
            errors.append(f"Line {number}: give at least a name and a kind (name | kind).")
            continue
        stage = dict(zip(FIELDS, columns, strict=False))
        stage["kind"] = stage["kind"].lower().replace(" ", "_").replace("-", "_")
        stages.append(stage)
        numbers.append(number)
    return stages, numbers, errors


class StagesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 10, "spellcheck": "false"})

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", STAGES_HELP)
        super().__init__(strip=False, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        stages, numbers, errors = parse_stages(text or "")
        if not errors:
            specs, _, problems = stage_specs(stages)
            problems += stage_problems(specs)
            problems.sort(key=lambda p: -1 if p.index is None else p.index)
            errors = [describe(p, specs, unit="Line", numbers=numbers) for p in problems]
        if errors:
            raise forms.ValidationError(errors)
        return stages


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    owner_team = forms.ModelChoiceField(
        Team.objects.all(), required=False, to_field_name="slug", label="Owning team"
    )
    stages = StagesField()
    note = forms.CharField(required=False, max_length=2000, help_text="Default: First version.")


class VersionForm(forms.Form):
    stages = StagesField()
    note = forms.CharField(max_length=2000, help_text="What changed in this version.")


class AssignForm(forms.Form):
    service = forms.ModelChoiceField(Service.objects.none(), to_field_name="slug")
    template = forms.ModelChoiceField(PipelineTemplate.objects.all(), to_field_name="slug")

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services.select_related("team").order_by(
            "team__name", "name"
        )
        self.fields["service"].label_from_instance = lambda s: f"{s.team.name} / {s.name}"
