"""A deliverable's page: its RAG with the reasons, targets, costs, progress and review.
Writes go through roadmap.deliverables (delivery) and roadmap.services (the plan)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from portal.access import access_for
from portal.exceptions import ApplicationError, add_to_form
from roadmap import deliverables
from roadmap.forms import CheckForm, CostForm, ProgressForm, ReviewForm
from roadmap.models import Deliverable
from roadmap.selectors import deliverables_for_rag, rag_of, visible_deliverables

STEP_LABELS = {"submit": "Submit for review", "accept": "Accept", "return": "Return"}


def _steps(deliverable: Deliverable, user) -> list[tuple[str, str]]:
    lead, works = access_for(user).is_lead, deliverables.works_on(user, deliverable)
    return [
        (step, STEP_LABELS[step])
        for step, (sources, _target, leads_only, _c) in deliverables.REVIEW_STEPS.items()
        if deliverable.status in sources and (lead if leads_only else works)
    ]


def _write(which: str, form, deliverable: Deliverable, user) -> str:
    data = form.cleaned_data
    if which == "progress":
        deliverables.progress_update(actor=user, deliverable=deliverable, **data)
        return "Progress saved."
    if which == "cost":
        deliverables.cost_add(actor=user, deliverable=deliverable, **data)
        return "Cost recorded."
    if which == "check":
        target_id = form.data.get("target", "")
        target = deliverable.targets.filter(pk=target_id).first() if target_id.isdigit() else None
        if target is None:
            raise ApplicationError("No such target on this deliverable.")
        deliverables.target_check(actor=user, target=target, **data)
        return f"“{target.name}” checked."
    step = form.data.get("step")
    deliverables.deliverable_review(actor=user, deliverable=deliverable, step=step, **data)
    return {"submit": "Submitted: a lead reviews it.", "accept": "Accepted."}.get(step, "Returned.")


@login_required
def deliverable_detail(request, slug: str):
    deliverable = get_object_or_404(
        deliverables_for_rag(visible_deliverables(request.user)), slug=slug
    )
    user = request.user
    which = request.POST.get("form") if request.method == "POST" else None
    forms = {
        "progress": ProgressForm(
            request.POST if which == "progress" else None,
            initial={"progress": deliverable.progress},
        ),
        "cost": CostForm(request.POST if which == "cost" else None),
        "check": CheckForm(request.POST if which == "check" else None),
        "review": ReviewForm(request.POST if which == "review" else None),
    }
    if which in forms and forms[which].is_valid():
        try:
            message = _write(which, forms[which], deliverable, user)
        except ApplicationError as error:
            add_to_form(forms[which], error)
        else:
            messages.success(request, message)
            return redirect("deliverable_detail", slug=slug)
    status = rag_of(deliverable)
    targets = list(deliverable.targets.all())
    context = {
        "deliverable": deliverable,
        "status": status,
        "targets": list(zip(targets, status.targets, strict=True)),
        "costs": deliverable.costs.select_related("added_by"),
        "reviews": deliverable.reviews.select_related("by"),
        "steps": _steps(deliverable, user),
        "works_on": deliverables.works_on(user, deliverable),
        "is_lead": access_for(user).is_lead,
        "forms": forms,
        "open_form": which,
    }
    return render(request, "roadmap/deliverable.html", context)
