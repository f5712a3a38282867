"""Training pages: plans (progress, spend, items, needs accepted as items) and the skills
matrix (rate yourself; leads confirm). Writes go through training.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from maturity.models import quarter_of
from portal.access import access_for, visible_teams
from portal.exceptions import ApplicationError, add_to_form
from training import services
from training.forms import DoneForm, ItemForm, PlanForm, SelfRatingForm
from training.models import (
    PROFICIENCY_NAMES,
    Skill,
    SkillRating,
    TargetProficiency,
    TrainingItem,
    TrainingPlan,
)
from training.selectors import plan_progress, team_members, training_needs


@login_required
def plan_list(request):
    teams = visible_teams(request.user).order_by("name")
    team = teams.filter(slug=request.GET.get("team")).first()
    form = PlanForm(
        request.POST or None,
        teams=teams,
        initial={"team": team, "period": quarter_of(timezone.localdate())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Plan created: add its items, or accept suggested needs.")
            return redirect("training_plan", slug=plan.slug)
    plans = (
        TrainingPlan.objects.filter(team__in=[team] if team else teams)
        .select_related("team")
        .prefetch_related("items")
    )
    context = {
        "plans": [(plan, plan_progress(plan)) for plan in plans],
        "form": form,
        "team": team,
        "can_plan": access_for(request.user).is_lead,
    }
    return render(request, "training/plan_list.html", context)


@login_required
def plan_detail(request, slug: str):
    plan = get_object_or_404(
        TrainingPlan.objects.filter(team__in=visible_teams(request.user)).select_related("team"),
        slug=slug,
    )
    people = get_user_model().objects.filter(pk__in=[u.pk for u in team_members(plan.team)])
    form = ItemForm(request.POST if request.POST.get("form") == "item" else None, people=people)
    if request.method == "POST":
        try:
            if request.POST.get("form") == "item" and form.is_valid():
                services.item_add(actor=request.user, plan=plan, **form.cleaned_data)
                messages.success(request, "Item added.")
                return redirect("training_plan", slug=slug)
            if request.POST.get("form") == "done":
                done = DoneForm(request.POST)
                item = get_object_or_404(TrainingItem, plan=plan, pk=request.POST.get("item"))
                if done.is_valid():
                    services.item_update(actor=request.user, item=item, **done.cleaned_data)
                    messages.success(request, "Item updated.")
                else:
                    messages.error(request, "Give a valid status and link.")
                return redirect("training_plan", slug=slug)
        except ApplicationError as error:
            if request.POST.get("form") == "item":
                add_to_form(form, error)
            else:
                messages.error(request, error.in_words())
                return redirect("training_plan", slug=slug)
    items = plan.items.select_related("skill").prefetch_related("attendees")
    context = {
        "plan": plan,
        "progress": plan_progress(plan),
        "items": items,
        "form": form,
        "needs": training_needs(plan.team),
        "can_plan": access_for(request.user).is_lead,
        "statuses": TrainingItem.Status.choices,
    }
    return render(request, "training/plan_detail.html", context)


@login_required
def skills_matrix(request):
    teams = visible_teams(request.user).order_by("name")
    team = teams.filter(slug=request.GET.get("team")).first() or teams.first()
    rate = SelfRatingForm(request.POST if request.POST.get("form") == "self" else None)
    if request.method == "POST":
        try:
            if rate.is_bound and rate.is_valid():
                services.skill_rate_self(actor=request.user, **rate.cleaned_data)
                messages.success(request, "Your rating is saved.")
            elif rate.is_bound:  # said, not dropped in silence
                messages.error(request, "Not saved: choose a skill and a level from the lists.")
            elif request.POST.get("form") == "confirm":
                rating = get_object_or_404(SkillRating, pk=request.POST.get("rating"))
                level = request.POST.get("level", "")
                services.skill_confirm(
                    actor=request.user, rating=rating, level=int(level) if level.isdigit() else -1
                )
                messages.success(request, "Confirmed.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(f"{request.path}?team={team.slug}" if team else request.path)
    skills = list(Skill.objects.all())
    members = team_members(team) if team else {}
    ratings = {
        (r.user_id, r.skill_id): r
        for r in SkillRating.objects.filter(user__in=members.keys()).select_related("confirmed_by")
    }
    targets = {(t.role, t.skill_id): t.level for t in TargetProficiency.objects.all()}
    rows = [
        (user, role, [(ratings.get((user.pk, s.pk)), targets.get((role, s.pk))) for s in skills])
        for user, role in members.items()
    ]
    context = {
        "teams": teams,
        "team": team,
        "skills": skills,
        "rows": rows,
        "rate": rate,
        "names": PROFICIENCY_NAMES,
        "can_confirm": access_for(request.user).is_lead,
    }
    return render(request, "training/matrix.html", context)
