"""Forms of the roadmap pages; writes go through roadmap.services, .versions and .deliverables."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from portal.models import Role, Service, Team
from roadmap.models import Initiative, QualityTarget, Roadmap, Theme, VersionDecision

User = get_user_model()
# ISO dates: a date input shows nothing for a value in the locale's format.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _named(user) -> str:
    return user.get_full_name() or user.username


class RoadmapForm(forms.Form):
    name = forms.CharField(max_length=200)
    approvers = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(
            memberships__role__in=[Role.STAKEHOLDER, Role.ADMIN], memberships__team=None
        ).distinct(),
        to_field_name="username",
        help_text="The stakeholders who approve its versions.",
    )
    approval_rule = forms.ChoiceField(choices=Roadmap.Rule.choices)
    quorum = forms.IntegerField(
        required=False, min_value=1, help_text="With a quorum: how many approvals decide."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approvers"].label_from_instance = _named


class ThemeForm(forms.Form):
    name = forms.CharField(max_length=200, label="Theme")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InitiativeForm(forms.Form):
    title = forms.CharField(max_length=200)
    theme = forms.ModelChoiceField(queryset=Theme.objects.none(), to_field_name="slug")
    starts_on = forms.DateField(widget=DATE)
    ends_on = forms.DateField(widget=DATE)
    status = forms.ChoiceField(choices=Initiative.Status.choices, initial="planned")
    owner = forms.ModelChoiceField(
        queryset=User.objects.order_by("username"), to_field_name="username", required=False
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(), to_field_name="slug", required=False
    )
    depends_on = forms.ModelMultipleChoiceField(
        queryset=Initiative.objects.none(), to_field_name="slug", required=False
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, roadmap: Roadmap, exclude: Initiative | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].queryset = roadmap.themes.all()
        others = Initiative.objects.filter(theme__roadmap=roadmap)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        self.fields["depends_on"].queryset = others
        self.fields["owner"].label_from_instance = _named


class DeliverableForm(forms.Form):
    title = forms.CharField(max_length=200)
    initiative = forms.ModelChoiceField(queryset=Initiative.objects.none(), to_field_name="slug")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.select_related("team"), to_field_name="slug", required=False,
        help_text="Measured targets read these services' data (none: the whole team's).",
    )  # fmt: skip
    starts_on = forms.DateField(widget=DATE)
    due_on = forms.DateField(widget=DATE)
    budget = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, initial=0)
    target_metric = forms.ChoiceField(
        choices=[("", "— none —"), *QualityTarget.Metric.choices],
        required=False,
        label="Measured quality target",
    )
    target_comparison = forms.ChoiceField(
        choices=QualityTarget.Comparison.choices, required=False, label="Comparison"
    )
    target_threshold = forms.FloatField(required=False, label="Threshold")
    checked_target = forms.CharField(
        required=False, max_length=200, label="Target checked by a reviewer",
        help_text="e.g. “Runbook reviewed with on-call”",
    )  # fmt: skip

    def __init__(self, *args, roadmap: Roadmap, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["initiative"].queryset = Initiative.objects.filter(theme__roadmap=roadmap)

    def targets(self) -> list[dict]:
        data, targets = self.cleaned_data, []
        if data["target_metric"]:
            targets.append(
                {
                    "name": QualityTarget.Metric(data["target_metric"]).label,
                    "metric": data["target_metric"],
                    "comparison": data["target_comparison"],
                    "threshold": data["target_threshold"],
                    "window_days": 30,
                }
            )
        if data["checked_target"].strip():
            targets.append({"name": data["checked_target"].strip()})
        return targets

    def plan(self) -> dict:
        names = ["title", "initiative", "team", "services", "starts_on", "due_on", "budget"]
        return {name: self.cleaned_data[name] for name in names}


class SubmitForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=5000, label="What changed, for the approvers",
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (VersionDecision.Kind.APPROVE, "Approve"),
            (VersionDecision.Kind.APPROVE_WITH_COMMENTS, "Approve with comments"),
            (VersionDecision.Kind.REQUEST_CHANGES, "Request changes"),
        ],
        widget=forms.RadioSelect,
        label="Decision",
    )
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed when approving with comments or requesting changes.",
    )  # fmt: skip


class ProgressForm(forms.Form):
    progress = forms.IntegerField(min_value=0, max_value=100, label="Progress (% done)")


class CostForm(forms.Form):
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    incurred_on = forms.DateField(widget=DATE, label="Incurred on")
    note = forms.CharField(required=False, max_length=300)


class ReviewForm(forms.Form):
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Returning needs one: say what is missing.",
    )  # fmt: skip


class CheckForm(forms.Form):
    met = forms.TypedChoiceField(
        choices=[("yes", "Met"), ("no", "Not met")], coerce=lambda v: v == "yes"
    )
    note = forms.CharField(required=False, max_length=2000)
