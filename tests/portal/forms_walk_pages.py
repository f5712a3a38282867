"""Where each form of the project is posted, by whom, with which switch (for the forms walker,
tests/portal/test_forms_reject_bad_input.py), on the demo organisation (portal/demo.py).

A page posting several forms says which one with ``form=<name>``; some also use a prefix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from maturity import forms as maturity_forms
from maturity.models import Assessment, MaturityModel
from pipelines import forms as source_forms
from pipelines.change_requests import forms as cr_forms
from pipelines.incidents import forms as incident_forms
from pipelines.incidents.services.reviews import review_start
from pipelines.models import (
    ChangeRequest,
    Incident,
    PipelineTemplate,
    Policy,
    PostIncidentReview,
    ReviewAction,
    Waiver,
)
from pipelines.policies import forms as policy_forms
from pipelines.templates import forms as template_forms
from poc import forms as poc_forms
from poc.models import Poc, RadarEntry
from portal.models import Service
from reporting import forms as reporting_forms
from reporting.slos import forms as slo_forms
from reporting.status import forms as status_forms
from roadmap import forms as roadmap_forms
from roadmap.models import Deliverable, Roadmap, RoadmapVersion, VersionDecision
from roadmap.services import roadmap_create
from training import forms as training_forms
from training.models import Skill, TrainingItem, TrainingPlan


@dataclass(frozen=True)
class Page:
    user: str | Callable[[], str]
    url: Callable[[], str]
    data: dict = field(default_factory=dict)  # the switch: which form of the page, which row
    prefix: str = ""
    method: str = "post"
    # A form whose fields are built per object (one per capability, skill or rating): the
    # fields of the form as the page builds it.
    fields: Callable[[], dict] | None = None
    page: Callable[[], str] | None = None  # the page showing the form, if ``url`` only posts


def _first(queryset):
    found = queryset.order_by("pk").first()
    assert found is not None, f"the demo has no {queryset.model.__name__} for the walker"
    return found


def incident() -> Incident:
    return _first(Incident.objects.filter(status="resolved"))


def review() -> PostIncidentReview:
    """A review with actions (for the conversion forms)."""
    return _first(PostIncidentReview.objects.filter(actions__isnull=False))


def draft_review() -> PostIncidentReview:
    """A draft (its page shows the edit and action forms): started if the demo has none."""
    draft = PostIncidentReview.objects.filter(status="draft").order_by("pk").first()
    if draft is None:
        without = _first(Incident.objects.filter(status="resolved", review__isnull=True))
        draft = review_start(actor=_user("ada"), incident=without)
    return draft


def _user(username: str):
    return get_user_model().objects.get(username=username)


def review_action() -> ReviewAction:
    return _first(ReviewAction.objects.filter(review=review()))


def assessment(status: str) -> Assessment:
    return _first(Assessment.objects.filter(status=status))


def service() -> Service:
    return Service.objects.get(slug="cart-api")


def roadmap() -> Roadmap:
    """A roadmap whose draft is open for edits (the demo's waits on an approval, which hides
    the forms): made once for the test."""
    made = Roadmap.objects.filter(name="Walker roadmap").first()
    return made or roadmap_create(
        actor=_user("lee"),
        name="Walker roadmap",
        approvers=[_user("sam")],
        approval_rule=Roadmap.Rule.ALL,
    )


def no_roadmap() -> str:
    """The page that creates the first roadmap shows only while there is none."""
    VersionDecision.objects.all().delete()  # protected: they go first
    RoadmapVersion.objects.all().delete()
    Roadmap.objects.all().delete()
    return "/roadmap/"


def pending_version() -> RoadmapVersion:
    return _first(RoadmapVersion.objects.filter(status=RoadmapVersion.Status.SUBMITTED))


def poc(status: str) -> Poc:
    return _first(Poc.objects.filter(status=status))


def plan() -> TrainingPlan:
    return _first(TrainingPlan.objects.all())


def deliverable(status: str) -> Deliverable:
    return _first(Deliverable.objects.filter(status=status))


def change_request(*statuses: str) -> ChangeRequest:
    return _first(ChangeRequest.objects.filter(status__in=statuses))


def open_change_request() -> ChangeRequest:
    return change_request("intake", "accepted", "in_progress")


def _targets_fields() -> dict:
    model = _first(MaturityModel.objects.order_by("slug", "-version"))
    form = maturity_forms.TargetsForm(capabilities=list(model.capabilities.all()), targets={})
    return dict(form.fields)


def _skill_targets_fields() -> dict:
    skills = list(Skill.objects.prefetch_related("targets"))
    return dict(training_forms.RoleTargetsForm(skills=skills).fields)


def _rule_key() -> str:
    return _first(_first(Policy.objects.filter(rules__isnull=False)).rules.all()).key


PAGES: dict[type, Page] = {
    # maturity
    maturity_forms.AssessmentStartForm: Page("lee", lambda: "/maturity/"),
    maturity_forms.RatingsForm: Page(
        "ada",
        lambda: f"/maturity/assessments/{assessment('draft').slug}/",
        fields=lambda: dict(maturity_forms.RatingsForm(assessment=assessment("draft")).fields),
    ),
    maturity_forms.ReviewForm: Page(
        "lee",
        lambda: f"/maturity/assessments/{assessment('submitted').slug}/review/",
        page=lambda: f"/maturity/assessments/{assessment('submitted').slug}/",
    ),
    maturity_forms.TargetsForm: Page(
        "lee", lambda: "/maturity/gaps/", {"form": "targets"}, fields=_targets_fields
    ),
    maturity_forms.ActionForm: Page("lee", lambda: "/maturity/gaps/", {"form": "action"}),
    maturity_forms.ModelYamlForm: Page("lee", lambda: "/maturity/models/"),
    # incidents and their reviews
    incident_forms.OpenForm: Page("ada", lambda: "/incidents/", {"form": "open"}),
    incident_forms.TriageForm: Page(
        "ada", lambda: f"/incidents/{incident().pk}/", {"form": "triage"}
    ),
    incident_forms.NoteForm: Page("ada", lambda: f"/incidents/{incident().pk}/", {"form": "note"}),
    incident_forms.StepForm: Page(
        "ada", lambda: f"/incidents/{incident().pk}/", {"form": "reopen"}
    ),
    incident_forms.ReviewForm: Page(
        "ada", lambda: f"/incidents/{draft_review().incident_id}/review/", {"form": "edit"}
    ),
    incident_forms.ActionForm: Page(
        "ada", lambda: f"/incidents/{draft_review().incident_id}/review/", {"form": "action"}
    ),
    incident_forms.InitiativeConvertForm: Page(
        "ada",
        lambda: f"/incidents/{review().incident_id}/review/",
        {"form": "to_initiative", "action": lambda: review_action().pk},
    ),
    incident_forms.ImprovementConvertForm: Page(
        "ada",
        lambda: f"/incidents/{review().incident_id}/review/",
        {"form": "to_improvement", "action": lambda: review_action().pk},
    ),
    incident_forms.TrainingConvertForm: Page(
        "ada",
        lambda: f"/incidents/{review().incident_id}/review/",
        {"form": "to_training", "action": lambda: review_action().pk},
    ),
    incident_forms.PolicyForm: Page("lee", lambda: "/incidents/review-policy/"),
    incident_forms.ReportForm: Page("lee", lambda: "/incidents/reports/", method="get"),
    # policies and waivers
    policy_forms.PolicyForm: Page("lee", lambda: "/pipelines/policies/", {"form": "policy"}),
    policy_forms.RuleForm: Page("lee", lambda: "/pipelines/policies/", {"form": "rule"}),
    policy_forms.RuleEditForm: Page(
        "lee",
        lambda: f"/pipelines/policies/{_first(Policy.objects.filter(rules__isnull=False)).slug}/",
        {"form": lambda: f"rule-{_rule_key()}"},
    ),
    policy_forms.WaiverRequestForm: Page("mo", lambda: f"/pipelines/compliance/{service().slug}/"),
    policy_forms.WaiverDecisionForm: Page(
        "lee",
        lambda: (
            f"/pipelines/waivers/{_first(Waiver.objects.filter(status='requested')).pk}/decide/"
        ),
        page=lambda: "/pipelines/waivers/",
    ),
    # pipeline templates
    template_forms.TemplateForm: Page("lee", lambda: "/pipelines/templates/", prefix="new"),
    template_forms.VersionForm: Page(
        "lee",
        lambda: f"/pipelines/templates/{_first(PipelineTemplate.objects.all()).slug}/",
        prefix="version",
    ),
    template_forms.AssignForm: Page("lee", lambda: "/pipelines/conformance/", {"form": "assign"}),
    # CI sources
    source_forms.SourceForm: Page("ada", lambda: "/sources/new/"),
    # change requests
    cr_forms.IntakeForm: Page("ada", lambda: "/pipelines/change-requests/", {"form": "intake"}),
    cr_forms.EditForm: Page(
        "ada",
        lambda: f"/pipelines/change-requests/{open_change_request().key}/",
        {"form": "edit"},
    ),
    cr_forms.TriageForm: Page(
        "ada",
        lambda: f"/pipelines/change-requests/{change_request('intake').key}/",
        {"form": "triage"},
    ),
    cr_forms.LinkForm: Page(
        "ada",
        lambda: f"/pipelines/change-requests/{open_change_request().key}/",
        {"form": "link"},
    ),
    # POCs and the radar
    poc_forms.ProposeForm: Page("ada", lambda: "/pocs/", prefix="new"),
    poc_forms.CriteriaForm: Page(
        "ada", lambda: f"/pocs/{poc('proposed').slug}/", {"form": "criteria"}
    ),
    poc_forms.EvaluationForm: Page(
        lambda: _first(poc("running").evaluators.all()).username,  # the form is theirs
        lambda: f"/pocs/{poc('running').slug}/",
        {"form": "evaluation"},
        fields=lambda: dict(
            poc_forms.EvaluationForm(criteria=poc("running").criteria.all()).fields
        ),
    ),
    poc_forms.EvidenceForm: Page(
        "ada", lambda: f"/pocs/{poc('running').slug}/", {"form": "evidence"}
    ),
    poc_forms.DecideForm: Page(
        "ada", lambda: f"/pocs/{poc('in_review').slug}/", {"form": "decide"}
    ),
    poc_forms.CommentForm: Page(
        "ada",
        lambda: f"/pocs/{poc('proposed').slug}/approve/",
        page=lambda: f"/pocs/{poc('proposed').slug}/",
    ),
    poc_forms.RadarEntryForm: Page("lee", lambda: "/radar/"),
    poc_forms.MoveForm: Page("lee", lambda: f"/radar/{_first(RadarEntry.objects.all()).slug}/"),
    # reporting
    slo_forms.SloForm: Page("ada", lambda: "/metrics/slos/new/"),
    status_forms.PeriodForm: Page("sam", lambda: "/reports/"),
    status_forms.DigestForm: Page("lee", lambda: "/reports/digest/"),
    reporting_forms.AlertRuleForm: Page("lee", lambda: "/metrics/alerts/new/"),
    # the roadmap
    roadmap_forms.RoadmapForm: Page("lee", no_roadmap),
    roadmap_forms.ThemeForm: Page(
        "lee", lambda: f"/roadmap/?roadmap={roadmap().slug}", {"form": "theme"}, prefix="theme"
    ),
    roadmap_forms.InitiativeForm: Page(
        "lee",
        lambda: f"/roadmap/?roadmap={roadmap().slug}",
        {"form": "initiative"},
        prefix="initiative",
    ),
    roadmap_forms.DeliverableForm: Page(
        "lee",
        lambda: f"/roadmap/?roadmap={roadmap().slug}",
        {"form": "deliverable"},
        prefix="deliverable",
    ),
    roadmap_forms.SubmitForm: Page(
        "lee", lambda: f"/roadmap/?roadmap={roadmap().slug}", {"form": "submit"}, prefix="submit"
    ),
    roadmap_forms.DecisionForm: Page(
        "sam",
        lambda: f"/roadmap/{pending_version().roadmap.slug}/versions/{pending_version().number}/",
    ),
    roadmap_forms.ProgressForm: Page(
        "ada", lambda: f"/deliverables/{deliverable('open').slug}/", {"form": "progress"}
    ),
    roadmap_forms.CostForm: Page(
        "ada", lambda: f"/deliverables/{deliverable('open').slug}/", {"form": "cost"}
    ),
    roadmap_forms.ReviewForm: Page(
        "lee", lambda: f"/deliverables/{deliverable('submitted').slug}/", {"form": "review"}
    ),
    roadmap_forms.CheckForm: Page(
        "lee", lambda: f"/deliverables/{deliverable('submitted').slug}/", {"form": "check"}
    ),
    # training
    training_forms.PlanForm: Page("lee", lambda: "/training/"),
    training_forms.ItemForm: Page(
        "lee", lambda: f"/training/plans/{plan().slug}/", {"form": "item"}
    ),
    training_forms.DoneForm: Page(
        "lee",
        lambda: f"/training/plans/{plan().slug}/",
        {"form": "done", "item": lambda: _first(TrainingItem.objects.filter(plan=plan())).pk},
    ),
    training_forms.SelfRatingForm: Page("mo", lambda: "/training/skills/", {"form": "self"}),
    training_forms.SkillForm: Page("lee", lambda: "/training/skills/catalogue/", {"form": "skill"}),
    training_forms.RoleTargetsForm: Page(
        "lee",
        lambda: "/training/skills/catalogue/",
        {"form": "targets"},
        fields=_skill_targets_fields,
    ),
}
