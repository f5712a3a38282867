"""Roadmap pages: the roadmap (timeline, board, versions, the lead's editing forms), one version
with its changes and decisions, one initiative. Deliverables are in roadmap.deliverable_views.
Writes go through roadmap.services and roadmap.versions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render

from portal.access import access_for
from portal.exceptions import ApplicationError, add_to_form
from portal.models import Team
from roadmap import services, versions
from roadmap.charts import gantt_html
from roadmap.forms import (
    DecisionForm,
    DeliverableForm,
    InitiativeForm,
    RoadmapForm,
    SubmitForm,
    ThemeForm,
)
from roadmap.models import Deliverable, Initiative, Roadmap, RoadmapVersion
from roadmap.selectors import (
    awaiting_decision,
    changes_of,
    changes_since_sent_back,
    deliverables_for_rag,
    draft_of,
    initiative_progress,
    rag_of,
    snapshot_of,
    visible_deliverables,
)

VIEWS = {"timeline": "Timeline", "board": "Board", "versions": "Versions"}


def _initiatives(roadmap: Roadmap, user):
    deliverables = deliverables_for_rag(visible_deliverables(user))
    return list(
        Initiative.objects.filter(theme__roadmap=roadmap)
        .select_related("theme", "owner")
        .prefetch_related("teams", "depends_on", Prefetch("deliverables", deliverables))
    )


def _forms(request, roadmap: Roadmap) -> dict:
    which = request.POST.get("form") if request.method == "POST" else None

    def bound(name):
        return request.POST if which == name else None

    return {
        "theme": ThemeForm(bound("theme"), prefix="theme"),
        "initiative": InitiativeForm(bound("initiative"), roadmap=roadmap, prefix="initiative"),
        "deliverable": DeliverableForm(bound("deliverable"), roadmap=roadmap, prefix="deliverable"),
        "submit": SubmitForm(bound("submit"), prefix="submit"),
    }


def _write(which: str, form, roadmap: Roadmap, user) -> str:
    """Do what the form asks; the message to show."""
    data = form.cleaned_data
    if which == "theme":
        services.theme_create(actor=user, roadmap=roadmap, **data)
        return "Theme added."
    if which == "initiative":
        services.initiative_create(actor=user, **data)
        return "Initiative added."
    if which == "deliverable":
        services.deliverable_create(actor=user, **form.plan(), targets=form.targets())
        return "Deliverable added."
    version = draft_of(roadmap)
    versions.version_submit(actor=user, version=version, note=data["note"])
    return f"Version {version.number} submitted: the approvers have it."


@login_required
def roadmap_home(request):
    """The roadmap chosen by ``?roadmap=`` (else the first); an empty state creates one."""
    roadmaps = list(Roadmap.objects.all())
    access = access_for(request.user)
    if not roadmaps:
        return _first_roadmap(request, access)
    roadmap = next((r for r in roadmaps if r.slug == request.GET.get("roadmap")), roadmaps[0])
    forms = _forms(request, roadmap)
    which = request.POST.get("form") if request.method == "POST" else None
    if which in forms and forms[which].is_valid():
        try:
            messages.success(request, _write(which, forms[which], roadmap, request.user))
        except ApplicationError as error:
            add_to_form(forms[which], error)
        else:
            return redirect(f"{request.path}?roadmap={roadmap.slug}")
    view = request.GET.get("view") if request.GET.get("view") in VIEWS else "timeline"
    initiatives = _initiatives(roadmap, request.user)
    rows = [
        (i, initiative_progress(i), [rag_of(d) for d in i.deliverables.all()]) for i in initiatives
    ]
    all_versions = roadmap.versions.select_related("submitted_by").prefetch_related("decisions")
    context = {
        "roadmap": roadmap,
        "roadmaps": roadmaps,
        "view": view,
        "views": VIEWS,
        "rows": rows,
        "board": [
            (label, [row for row in rows if row[0].status == status])
            for status, label in Initiative.Status.choices
        ],
        "gantt": gantt_html(initiatives) if initiatives and view == "timeline" else None,
        "versions": all_versions,
        "draft": next((v for v in all_versions if v.status == RoadmapVersion.Status.DRAFT), None),
        "waiting": next(
            (v for v in all_versions if v.status == RoadmapVersion.Status.SUBMITTED), None
        ),
        "mine": [v for v in awaiting_decision(request.user) if v.roadmap_id == roadmap.pk],
        "forms": forms,
        "is_lead": access.is_lead,
        "open_form": which,
    }
    return render(request, "roadmap/home.html", context)


def _first_roadmap(request, access):
    form = RoadmapForm(request.POST if request.method == "POST" and access.is_lead else None)
    if form.is_bound and form.is_valid():
        try:
            roadmap = services.roadmap_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            return redirect(f"{request.path}?roadmap={roadmap.slug}")
    return render(request, "roadmap/empty.html", {"form": form, "is_lead": access.is_lead})


@login_required
def version_detail(request, slug: str, number: int):
    version = get_object_or_404(
        RoadmapVersion.objects.select_related("roadmap", "submitted_by"),
        roadmap__slug=slug,
        number=number,
    )
    may_decide = (
        version.status == RoadmapVersion.Status.SUBMITTED
        and version.approvers.filter(pk=request.user.pk).exists()
        and not version.decisions.filter(decider=request.user).exists()
    )
    form = DecisionForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            versions.version_decide(actor=request.user, version=version, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            version.refresh_from_db()
            state = version.get_status_display().lower()
            messages.success(request, f"Recorded. Version {version.number} is now {state}.")
            return redirect("roadmap_version", slug=slug, number=number)
    previous, changes = changes_of(version)
    sent_back, changes_since = changes_since_sent_back(version)
    snapshot = version.snapshot
    hidden = _unseen_deliverables(request.user, version, previous, sent_back)
    if hidden:  # members and viewers see their teams' deliverables only, as in the API
        changes = [c for c in changes if c.item != "deliverable" or c.slug not in hidden]
        changes_since = [
            c for c in changes_since if c.item != "deliverable" or c.slug not in hidden
        ]
        if snapshot:
            kept = [d for d in snapshot["deliverables"] if d["slug"] not in hidden]
            snapshot = {**snapshot, "deliverables": kept}
    decisions = list(version.decisions.select_related("decider"))
    decided = {d.decider_id for d in decisions}
    context = {
        "version": version,
        "roadmap": version.roadmap,
        "previous": previous,
        "changes": changes,
        "sent_back": sent_back,
        "changes_since": changes_since,
        "decisions": decisions,
        "undecided": [u for u in version.approvers.all() if u.pk not in decided],
        "needed": versions.needed(version),
        "approvals": sum(1 for d in decisions if d.approves),
        "plan": _plan_rows(snapshot),
        "form": form if may_decide else None,
    }
    return render(request, "roadmap/version.html", context)


def _unseen_deliverables(user, version, *others) -> set[str]:
    """Slugs of the deliverables, in this version's plan or the ones it is compared with, of
    no team the user sees (none for those who see every team)."""
    access = access_for(user)
    if access.sees_all_teams:
        return set()
    mine = set(Team.objects.filter(pk__in=access.team_ids).values_list("slug", flat=True))
    plans = [version.snapshot or snapshot_of(version.roadmap)]
    plans += [other.snapshot for other in others if other is not None]
    teams_of: dict[str, set[str]] = {}
    for plan in plans:
        for deliverable in (plan or {}).get("deliverables", []):
            teams_of.setdefault(deliverable["slug"], set()).add(deliverable["team"])
    return {slug for slug, teams in teams_of.items() if not teams & mine}


def _plan_rows(snapshot: dict | None) -> list[tuple[dict, str, list[dict]]]:
    """(initiative, its theme's name, its deliverables) from a frozen snapshot."""
    if not snapshot:
        return []
    themes = {t["slug"]: t["name"] for t in snapshot["themes"]}
    return [
        (
            initiative,
            themes.get(initiative["theme"], initiative["theme"]),
            [d for d in snapshot["deliverables"] if d["initiative"] == initiative["slug"]],
        )
        for initiative in snapshot["initiatives"]
    ]


@login_required
def initiative_detail(request, slug: str):
    initiative = get_object_or_404(
        Initiative.objects.select_related("theme__roadmap", "owner"), slug=slug
    )
    roadmap = initiative.theme.roadmap
    access = access_for(request.user)
    initial = {
        "title": initiative.title,
        "theme": initiative.theme,
        "starts_on": initiative.starts_on,
        "ends_on": initiative.ends_on,
        "status": initiative.status,
        "owner": initiative.owner,
        "teams": initiative.teams.all(),
        "depends_on": initiative.depends_on.all(),
        "description": initiative.description,
    }
    form = InitiativeForm(
        request.POST if request.method == "POST" and access.is_lead else None,
        roadmap=roadmap,
        exclude=initiative,
        initial=initial,
    )
    if form.is_bound and form.is_valid():
        try:
            services.initiative_update(
                actor=request.user, initiative=initiative, **form.cleaned_data
            )
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, "Saved in the draft.")
            return redirect("initiative_detail", slug=initiative.slug)
    deliverables = deliverables_for_rag(visible_deliverables(request.user)).filter(
        initiative=initiative
    )
    context = {
        "initiative": initiative,
        "roadmap": roadmap,
        "progress": initiative_progress(initiative),
        "statuses": [rag_of(d) for d in deliverables],
        "form": form if access.is_lead else None,
        "frozen": roadmap.versions.filter(status=RoadmapVersion.Status.SUBMITTED).first(),
        "hidden": Deliverable.objects.filter(initiative=initiative).count() - len(deliverables),
    }
    return render(request, "roadmap/initiative.html", context)
