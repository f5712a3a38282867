"""Maturity model pages for leads: the models and their versions, import a YAML file, edit one
in the browser (in place while unused, else as a new version). Writes go through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render

from maturity import services
from maturity.catalogue import dump_model
from maturity.forms import ModelYamlForm
from maturity.models import MaturityModel
from portal.access import access_for, require_lead
from portal.exceptions import ApplicationError, add_to_form


@login_required
def model_list(request):
    can_edit = access_for(request.user).is_lead
    form = ModelYamlForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        require_lead(request.user)
        if form.is_valid():
            model = services.model_import(actor=request.user, spec=form.spec)
            messages.success(request, f"Imported {model.name} as version {model.version}.")
            return redirect("maturity_models")
    versions = MaturityModel.objects.annotate(
        capability_count=Count("capabilities", distinct=True),
        assessment_count=Count("assessments", distinct=True),
    ).order_by("slug", "-version")
    context = {"versions": versions, "form": form, "can_edit": can_edit}
    return render(request, "maturity/models.html", context)


@login_required
def model_edit(request, slug: str):
    require_lead(request.user)
    latest = MaturityModel.objects.filter(slug=slug).aggregate(v=Max("version"))["v"]
    model = get_object_or_404(MaturityModel, slug=slug, version=latest or 0)
    form = ModelYamlForm(request.POST or None, initial={"yaml": dump_model(model)})
    in_use = model.assessments.count()
    if request.method == "POST" and form.is_valid():
        try:
            edited = services.model_edit(actor=request.user, model=model, spec=form.spec)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            if edited.version == model.version:
                messages.success(request, f"Saved version {edited.version}.")
            else:
                messages.success(
                    request,
                    f"Saved as version {edited.version}; version {model.version} keeps its words "
                    f"for its {in_use} assessment{'s' if in_use != 1 else ''}.",
                )
            return redirect("maturity_models")
    context = {"model": model, "form": form, "in_use": in_use}
    return render(request, "maturity/model_edit.html", context)
