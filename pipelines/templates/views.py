"""Template pages: the templates with their adoption per team, one template (stages, versions,
rendered configurations, the services on it), and conformance per service. Leads get the forms:
a new template, the next version, assigning templates to services.
Writes go through pipelines.templates.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from pipelines.models import PipelineTemplate, ServiceTemplate
from pipelines.templates import selectors, services
from pipelines.templates.filtersets import AssignmentFilterSet
from pipelines.templates.forms import AssignForm, TemplateForm, VersionForm, stages_text
from pipelines.templates.render import FILENAMES, TARGETS
from pipelines.templates.render import render as render_config
from pipelines.templates.stages import patterns, spec_of
from portal.access import access_for, visible_services
from portal.exceptions import ApplicationError, add_to_form


def _lead_post(request) -> bool:
    """A POST is a lead's edit; anyone else posting is refused."""
    if request.method != "POST":
        return False
    if not access_for(request.user).is_lead:
        raise PermissionDenied("Only leads and admins edit templates.")
    return True


@login_required
def template_list(request):
    is_lead = access_for(request.user).is_lead
    form = TemplateForm(request.POST if _lead_post(request) else None, prefix="new")
    if form.is_bound and form.is_valid():
        try:
            template = services.template_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Template {template.name} created (version 1).")
            return redirect("pipeline_template_detail", slug=template.slug)
    adoption = selectors.adoption(services=visible_services(request.user))
    by_template = {a.template.pk: a for a in adoption.templates}
    templates = list(selectors.template_list())
    context = {
        "rows": [(t, by_template.get(t.pk)) for t in templates],
        "unassigned": adoption.unassigned,
        "form": form if is_lead else None,
        "days": selectors.CONFORMANCE_DAYS,
    }
    return render(request, "pipelines/templates/list.html", context)


@login_required
def template_detail(request, slug: str):
    template = get_object_or_404(PipelineTemplate.objects.select_related("owner_team"), slug=slug)
    latest = selectors.version_get(template)
    number = request.GET.get("version")
    shown = latest
    if number:
        if not number.isdigit():
            raise Http404("No such version.")
        shown = selectors.version_get(template, int(number))
        if shown is None:
            raise Http404("No such version.")
    is_lead = access_for(request.user).is_lead
    form = VersionForm(
        request.POST if _lead_post(request) else None,
        prefix="version",
        initial={"stages": stages_text(latest) if latest else ""},
    )
    if form.is_bound and form.is_valid():
        try:
            version = services.template_new_version(
                actor=request.user, template=template, **form.cleaned_data
            )
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            messages.success(request, f"Version {version.number} saved.")
            return redirect("pipeline_template_detail", slug=template.slug)
    target = request.GET.get("config") if request.GET.get("config") in TARGETS else "github"
    context = {
        "template": template,
        "version": shown,
        "stages": [(s, patterns(spec_of(s))) for s in shown.stages.all()] if shown else [],
        "latest": latest,
        "versions": template.versions.select_related("created_by").order_by("-number"),
        "targets": TARGETS,
        "target": target,
        "filename": FILENAMES[target],
        "config": render_config(shown, target) if shown else "",
        "results": selectors.conformance(
            services=visible_services(request.user), template=template
        ),
        "days": selectors.CONFORMANCE_DAYS,
        "form": form if is_lead else None,
        "open_form": form.is_bound,
    }
    return render(request, "pipelines/templates/detail.html", context)


@login_required
def conformance_page(request):
    """How far each service's real pipeline is from its template, and why."""
    visible = visible_services(request.user)
    is_lead = access_for(request.user).is_lead
    lead_post = _lead_post(request)
    which = request.POST.get("form") if lead_post else None
    # Its own ids: the filters above have a Service and a Template too (id_service, ...).
    form = AssignForm(
        request.POST if which == "assign" else None, services=visible, auto_id="assign-%s"
    )
    if form.is_bound and form.is_valid():
        try:
            services.service_assign(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_to_form(form, error)
        else:
            data = form.cleaned_data
            messages.success(request, f"{data['service']} now follows {data['template']}.")
            return redirect(request.get_full_path())
    if which == "unassign":
        assignment = get_object_or_404(
            ServiceTemplate.objects.select_related("service"),
            service__in=visible,
            service__slug=request.POST.get("service", ""),
        )
        services.service_unassign(actor=request.user, service=assignment.service)
        messages.success(request, f"{assignment.service} follows no template any more.")
        return redirect(request.get_full_path())
    filterset = AssignmentFilterSet(request.GET, ServiceTemplate.objects.all(), user=request.user)
    results = []
    if filterset.is_valid():
        chosen = filterset.qs.filter(service__in=visible).values("service_id")
        results = selectors.conformance(services=visible.filter(pk__in=chosen))
    context = {
        "filterset": filterset,
        "query": request.GET,
        "results": results,
        "days": selectors.CONFORMANCE_DAYS,
        "form": form if is_lead else None,
        "has_templates": PipelineTemplate.objects.exists(),
        "unassigned": visible.filter(template_assignment__isnull=True).count(),
    }
    return render(request, "pipelines/templates/conformance.html", context)
