"""Forms of the change request pages; writes go through pipelines.change_requests.services."""

from __future__ import annotations

from django import forms

from pipelines.change_requests import selectors
from pipelines.models import ChangeRequest
from portal.access import access_for, visible_services, visible_teams
from portal.exceptions import ApplicationError
from portal.models import Team


def teams_to_raise_for(user):
    """Leads raise requests for any team; members for their own teams."""
    access = access_for(user)
    if access.is_lead:
        return visible_teams(user)
    return Team.objects.filter(pk__in=[t for t in access.team_ids if access.works_in(t)])


class IntakeForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    title = forms.CharField(max_length=300, help_text="What the customer asks for.")
    requester = forms.CharField(max_length=200, help_text="The customer who asked.")
    value = forms.ChoiceField(
        choices=ChangeRequest.Value.choices, initial=ChangeRequest.Value.MEDIUM
    )
    urgency = forms.ChoiceField(
        choices=ChangeRequest.Urgency.choices, initial=ChangeRequest.Urgency.NORMAL
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_to_raise_for(user).order_by("name")


class EditForm(forms.Form):
    title = forms.CharField(max_length=300)
    value = forms.ChoiceField(choices=ChangeRequest.Value.choices)
    urgency = forms.ChoiceField(choices=ChangeRequest.Urgency.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class TriageForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    comment = forms.CharField(required=False, max_length=5000)


class LinkForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("change", "Change (commit sha)"), ("deployment", "Deployment (its id)")],
        label="Link a",
    )
    service = forms.ModelChoiceField(queryset=Team.objects.none(), to_field_name="slug")
    reference = forms.CharField(
        max_length=300, help_text="A commit sha (7+ characters) or a deployment's external id."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = visible_services(user).order_by("name")

    def record(self) -> dict:
        """``{"change": Change}`` or ``{"deployment": Deployment}``; ApplicationError if none."""
        data = self.cleaned_data
        if data["kind"] == "change":
            return {"change": selectors.change_find(service=data["service"], sha=data["reference"])}
        return {
            "deployment": selectors.deployment_find(
                service=data["service"], external_id=data["reference"]
            )
        }

    def add_refusal(self, error: ApplicationError) -> None:
        self.add_error("reference", error.message)
