"""Forms of the incident pages; writes go through pipelines.incidents.services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from maturity.models import MaturityModel
from pipelines.models import Severity
from portal.access import access_for, visible_services, visible_teams
from portal.models import Role, Service, Team
from roadmap.models import Theme
from training.models import TrainingItem

User = get_user_model()
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
WORKING_ROLES = [Role.ADMIN, Role.LEAD, Role.MEMBER]
RANGES = {30: "30 days", 90: "90 days", 180: "180 days", 365: "365 days"}


def _named(user) -> str:
    return user.get_full_name() or user.username


def responders(teams):
    """People who may respond to an incident of ``teams``: their members, leads and admins,
    and the organisation's leads and admins."""
    team_ids = [t.pk for t in teams if t is not None]
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(memberships__team_id__in=team_ids, memberships__role__in=WORKING_ROLES)
            | Q(memberships__team=None, memberships__role__in=[Role.ADMIN, Role.LEAD])
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def services_to_open_for(user):
    """Leads open incidents for any service; members for their teams' services."""
    access = access_for(user)
    if access.is_lead:
        return visible_services(user)
    return visible_services(user).filter(
        team_id__in=[t for t in access.team_ids if access.works_in(t)]
    )


class OpenForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), to_field_name="slug")
    title = forms.CharField(max_length=500, help_text="What is wrong, as users see it.")
    severity = forms.ChoiceField(
        choices=[("", "Not triaged yet"), *Severity.choices], required=False
    )
    summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="What is known"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_to_open_for(user).order_by("name")


class TriageForm(forms.Form):
    severity = forms.ChoiceField(choices=Severity.choices)
    owner_team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="The service's team",
    )
    commander = forms.ModelChoiceField(
        queryset=User.objects.none(), to_field_name="username", required=False,
        empty_label="Nobody yet",
    )  # fmt: skip

    def __init__(self, *args, user, incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_team"].queryset = visible_teams(user).order_by("name")
        self.fields["commander"].queryset = responders([incident.service.team, incident.owner_team])
        self.fields["commander"].label_from_instance = _named


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 2}), label="Update"
    )


class StepForm(forms.Form):
    """Acknowledge, mitigate, resolve or reopen, with an optional word on the timeline."""

    note = forms.CharField(max_length=5000, required=False)


class ReviewForm(forms.Form):
    impact = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who was affected, how, and for how long.",
    )  # fmt: skip
    timeline_summary = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Timeline",
        help_text="The story in a few lines; the recorded timeline is shown beside it.",
    )  # fmt: skip
    causes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What led to it. Tag causes (#config-drift) to find them when they repeat.",
    )  # fmt: skip
    went_well = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What went well"
    )
    went_badly = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What went badly"
    )
    due_on = forms.DateField(widget=DATE, label="Due")


class ActionForm(forms.Form):
    title = forms.CharField(max_length=300, label="Action")
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), to_field_name="username", required=False
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    due_on = forms.DateField(widget=DATE, label="Due")

    def __init__(self, *args, user, incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = visible_teams(user).order_by("name")
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "last_name", "username"
        )
        self.fields["owner"].label_from_instance = _named
        self.initial.setdefault("team", (incident.owner_team or incident.service.team).slug)


class InitiativeConvertForm(forms.Form):
    theme = forms.ModelChoiceField(
        queryset=Theme.objects.select_related("roadmap").order_by("roadmap__name", "position"),
        help_text="The roadmap theme it belongs to.",
    )
    starts_on = forms.DateField(widget=DATE, required=False, help_text="Blank: today.")
    ends_on = forms.DateField(widget=DATE, required=False, help_text="Blank: the due date.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].label_from_instance = lambda t: f"{t.roadmap.name}: {t.name}"


class ImprovementConvertForm(forms.Form):
    capability_key = forms.ChoiceField(label="Maturity capability")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model = MaturityModel.objects.order_by("slug", "-version").first()
        capabilities = model.capabilities.select_related("area") if model else []
        self.fields["capability_key"].choices = [
            (c.key, f"{c.area.name}: {c.name}") for c in capabilities
        ]


class TrainingConvertForm(forms.Form):
    kind = forms.ChoiceField(choices=TrainingItem.Kind.choices)


class PolicyForm(forms.Form):
    required_severities = forms.MultipleChoiceField(
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Severities that need a review",
    )
    due_days = forms.IntegerField(min_value=1, max_value=90, label="Due (days after resolution)")


class ReportForm(forms.Form):
    days = forms.TypedChoiceField(choices=list(RANGES.items()), coerce=int, initial=90)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", required=False,
        empty_label="All teams",
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = visible_teams(user).order_by("name")
