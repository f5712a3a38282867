"""Maturity pages: the organisation's heat map and assessments, and one assessment (fill,
submit, review, radar). Writes go through maturity.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from maturity import actions as maturity_actions
from maturity import services
from maturity.charts import radar_html, trend_html
from maturity.forms import ActionForm, AssessmentStartForm, RatingsForm, ReviewForm, TargetsForm
from maturity.models import (
    Assessment,
    Capability,
    EvidenceFile,
    ImprovementAction,
    MaturityModel,
    Rating,
    TargetLevel,
    quarter_of,
)
from maturity.selectors import (
    capability_trend,
    gaps,
    latest_ratings,
    levels_by_key,
    previous_assessment,
)
from portal.access import access_for, visible_teams
from portal.exceptions import ApplicationError, add_to_form
from portal.models import Role
from portal.uploads import attachment_response


def _fillable_teams(user):
    access = access_for(user)
    teams = visible_teams(user).order_by("name")
    if access.is_lead:
        return teams
    return teams.filter(
        pk__in=[t for t in access.team_ids if access.has_team_role(t, Role.MEMBER, Role.LEAD)]
    )


@login_required
def maturity_home(request):
    teams = visible_teams(request.user).order_by("name")
    model = MaturityModel.objects.order_by("slug", "-version").first()
    start = AssessmentStartForm(
        request.POST or None,
        teams=_fillable_teams(request.user),
        initial={"model": model, "period": quarter_of(timezone.localdate())},
    )
    if request.method == "POST" and start.is_valid():
        try:
            assessment = services.assessment_create(actor=request.user, **start.cleaned_data)
        except ApplicationError as error:
            add_to_form(start, error)
        else:
            messages.success(request, "Draft started; levels with measured data are pre-filled.")
            return redirect("assessment_detail", slug=assessment.slug)
    capabilities = list(model.capabilities.select_related("area")) if model else []
    latest = latest_ratings(teams, model.slug) if model else {}
    heat = [
        (
            team,
            latest.get(team.pk, (None, {}))[0],
            [latest.get(team.pk, (None, {}))[1].get(c.key) for c in capabilities],
        )
        for team in teams
    ]
    shown = next((c for c in capabilities if c.key == request.GET.get("capability")), None)
    shown = shown or (capabilities[0] if capabilities else None)
    context = {
        "model": model,
        "capabilities": capabilities,
        "shown": shown,
        "trend": trend_html(capability_trend(teams, model.slug, shown.key)) if shown else "",
        "heat": heat,
        "assessments": Assessment.objects.filter(team__in=teams).select_related("team", "model")[
            :50
        ],
        "start": start,
        "can_start": _fillable_teams(request.user).exists(),
    }
    return render(request, "maturity/home.html", context)


@login_required
def assessment_detail(request, slug: str):
    ratings = Prefetch(
        "ratings",
        queryset=Rating.objects.select_related("capability__area").prefetch_related(
            "capability__levels", Prefetch("files", EvidenceFile.objects.defer("data"))
        ),
    )
    assessment = get_object_or_404(
        Assessment.objects.filter(team__in=visible_teams(request.user))
        .select_related("team", "model", "reviewed_by")
        .prefetch_related(ratings),
        slug=slug,
    )
    can_fill = services.can_fill(request.user, assessment.team) and assessment.is_editable
    form = RatingsForm(request.POST or None, request.FILES or None, assessment=assessment)
    if request.method == "POST":
        if not can_fill:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.ratings_update(
                    actor=request.user,
                    assessment=assessment,
                    changes=form.changes(),
                    uploads=form.uploads(),
                )
                if request.POST.get("then") == "submit":
                    services.assessment_submit(actor=request.user, assessment=assessment)
                    messages.success(request, "Submitted for review.")
                else:
                    messages.success(request, "Saved.")
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                return redirect("assessment_detail", slug=assessment.slug)
    previous = previous_assessment(assessment)
    capabilities = list(Capability.objects.filter(model=assessment.model).select_related("area"))
    context = {
        "assessment": assessment,
        "form": form,
        "can_fill": can_fill,
        "can_review": access_for(request.user).is_lead
        and assessment.status == Assessment.Status.SUBMITTED,
        "review": ReviewForm(),
        "previous": previous,
        "radar": radar_html(
            capabilities,
            [(assessment.period, levels_by_key(assessment))]
            + ([(previous.period, levels_by_key(previous))] if previous else []),
        ),
    }
    return render(request, "maturity/assessment.html", context)


def _visible_evidence(request, pk: int) -> EvidenceFile:
    return get_object_or_404(
        EvidenceFile.objects.select_related("rating__assessment__team").filter(
            rating__assessment__team__in=visible_teams(request.user)
        ),
        pk=pk,
    )


@login_required
def evidence_download(request, pk: int):
    evidence = _visible_evidence(request, pk)
    return attachment_response(evidence.name, evidence.data)


@login_required
@require_POST
def evidence_remove(request, pk: int):
    evidence = _visible_evidence(request, pk)
    slug = evidence.rating.assessment.slug
    try:
        services.evidence_remove(actor=request.user, evidence=evidence)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Removed {evidence.name}.")
    return redirect(f"{reverse('assessment_detail', args=[slug])}#{evidence.rating.capability.key}")


@login_required
@require_POST
def assessment_review(request, slug: str):
    assessment = get_object_or_404(
        Assessment.objects.filter(team__in=visible_teams(request.user)), slug=slug
    )
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to sign off or to send back.")
        return redirect("assessment_detail", slug=slug)
    try:
        services.assessment_review(
            actor=request.user,
            assessment=assessment,
            accept=form.cleaned_data["decision"] == "accept",
            comment=form.cleaned_data["comment"],
        )
    except ApplicationError as error:
        messages.error(request, error.in_words())
    else:
        messages.success(request, "Review recorded.")
    return redirect("assessment_detail", slug=slug)


def _plan_action(request, teams, data) -> None:
    team = get_object_or_404(teams, slug=data["team"])
    owner = None
    if data["owner"]:
        owner = get_user_model().objects.filter(username=data["owner"]).first()
        if owner is None:
            raise ApplicationError("No such person.", {"owner": ["No such person."]})
    maturity_actions.action_create(
        actor=request.user,
        team=team,
        capability_key=data["capability_key"],
        title=data["title"],
        owner=owner,
        due_date=data["due_date"],
    )


@login_required
def maturity_gaps(request):
    """Targets (leads set them), the gaps below them, and the actions planned against them."""
    model = MaturityModel.objects.order_by("slug", "-version").first()
    if model is None:
        return redirect("maturity_home")
    teams = visible_teams(request.user).order_by("name")
    capabilities = list(model.capabilities.select_related("area"))
    targets = dict(
        TargetLevel.objects.filter(model_slug=model.slug).values_list("capability_key", "level")
    )
    which = request.POST.get("form")
    form = TargetsForm(
        request.POST if which == "targets" else None, capabilities=capabilities, targets=targets
    )
    action_form = ActionForm(request.POST if which == "action" else None)
    if request.method == "POST":
        try:
            if which == "targets" and form.is_valid():
                maturity_actions.targets_set(actor=request.user, model=model, levels=form.levels())
                messages.success(request, "Targets saved.")
                return redirect(request.get_full_path())
            if which == "action" and action_form.is_valid():
                _plan_action(request, teams, action_form.cleaned_data)
                messages.success(request, "Action planned.")
                return redirect(request.get_full_path())
            if which == "status":
                action = get_object_or_404(
                    ImprovementAction.objects.filter(team__in=teams), pk=request.POST.get("action")
                )
                status = request.POST.get("status", "")
                maturity_actions.action_set_status(actor=request.user, action=action, status=status)
                messages.success(request, f"Marked {status}: {action.title}")
                return redirect(request.get_full_path())
        except ApplicationError as error:
            if which == "targets":
                add_to_form(form, error)
            else:
                messages.error(request, error.in_words())
        if action_form.is_bound and action_form.errors:
            messages.error(request, "The action was not planned: give it a title and a valid date.")
    team = teams.filter(slug=request.GET.get("team")).first()
    shown = [team] if team else teams
    people = {t.pk: _fillers(t) for t in shown}
    context = {
        "model": model,
        "form": form,
        "can_set_targets": access_for(request.user).is_lead,
        "gaps": [(gap, people[gap.team.pk]) for gap in gaps(shown, model)],
        "teams": teams,
        "team": team,
        "can_plan": {team.pk for team in teams if services.can_fill(request.user, team)},
        "actions": ImprovementAction.objects.filter(team__in=shown).select_related("team", "owner"),
        "names": {c.key: c.name for c in capabilities},
    }
    return render(request, "maturity/gaps.html", context)


def _fillers(team):
    """The people who may own a team's action: its members and leads."""
    return [
        m.user
        for m in team.memberships.filter(role__in=[Role.MEMBER, Role.LEAD]).select_related("user")
    ]
