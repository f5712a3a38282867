"""The skills catalogue for leads: add a skill (tied to a maturity capability and a tool) and
set the proficiency each role should reach. Writes go through training.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render

from maturity.models import Capability, MaturityModel
from portal.access import access_for, require_lead
from portal.exceptions import ApplicationError, add_to_form
from training import services
from training.forms import TARGET_ROLES, RoleTargetsForm, SkillForm
from training.models import Skill


def _capability_names() -> dict[str, str]:
    model = MaturityModel.objects.order_by("slug", "-version").first()
    capabilities = Capability.objects.filter(model=model).order_by("area__position", "position")
    return dict(capabilities.values_list("key", "name"))


@login_required
def skills_catalogue(request):
    can_edit = access_for(request.user).is_lead
    skills = list(Skill.objects.prefetch_related("targets"))
    capabilities = _capability_names()
    which = request.POST.get("form")
    add = SkillForm(request.POST if which == "skill" else None, capabilities=capabilities)
    targets = RoleTargetsForm(request.POST if which == "targets" else None, skills=skills)
    if request.method == "POST":
        require_lead(request.user)
        form = add if which == "skill" else targets
        if form.is_valid():
            try:
                with transaction.atomic():
                    if form is add:
                        skill = services.skill_create(actor=request.user, **add.cleaned_data)
                        messages.success(request, f"Added {skill.name}.")
                    else:
                        for skill, levels in targets.changed_levels():
                            services.skill_targets_set(
                                actor=request.user, skill=skill, levels=levels
                            )
                        messages.success(request, "Targets saved.")
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                return redirect("skills_catalogue")
    context = {
        "skills": skills,
        "rows": targets.rows(),
        "roles": TARGET_ROLES,
        "capabilities": capabilities,
        "add": add,
        "targets": targets,
        "can_edit": can_edit,
    }
    return render(request, "training/catalogue.html", context)
