"""Pages: CI sources (leads and admins) and the delivery records (everyone, team-scoped)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from pipelines import selectors, services
from pipelines.connectors.base import CONNECTORS, POLLED_KINDS
from pipelines.filtersets import DeploymentFilterSet, PipelineRunFilterSet
from pipelines.forms import SourceForm
from pipelines.models import CISource, Deployment, PipelineRun
from portal.access import require_lead, visible_services
from portal.exceptions import ApplicationError, add_to_form

PAGE_SIZE = 50


@login_required
def source_list(request):
    require_lead(request.user)
    return render(request, "pipelines/source_list.html", {"sources": selectors.source_overview()})


def _save(request, form: SourceForm, source: CISource | None):
    """Run the service; put its refusals on the form. Returns the source or None."""
    try:
        if source is None:
            return services.source_create(actor=request.user, **form.service_arguments())
        return services.source_update(
            actor=request.user, source=source, data=form.service_arguments()
        )
    except ApplicationError as error:
        add_to_form(form, error)
    except ValidationError as error:
        for field, problems in error.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    return None


@login_required
def source_create(request):
    require_lead(request.user)
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = _save(request, form, None)
        if source is not None:
            if source.kind in POLLED_KINDS:
                services.sync_source_queue(source=source, trigger="manual")
                messages.success(request, f"{source.name} added; its first sync has started.")
            else:
                messages.success(request, f"{source.name} added.")
            return redirect("source_detail", slug=source.slug)
    return render(request, "pipelines/source_form.html", {"form": form, "source": None})


@login_required
def source_edit(request, slug: str):
    require_lead(request.user)
    source = get_object_or_404(selectors.source_list(), slug=slug)
    form = SourceForm(request.POST or None, initial=SourceForm.initial_for(source), editing=source)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, source)
        if saved is not None:
            messages.success(request, f"{saved.name} saved.")
            return redirect("source_detail", slug=saved.slug)
    return render(request, "pipelines/source_form.html", {"form": form, "source": source})


@login_required
def source_detail(request, slug: str):
    require_lead(request.user)
    source = get_object_or_404(selectors.source_list(), slug=slug)
    context = {
        "source": source,
        "sync_runs": selectors.sync_runs_of(source=source),
        "counts": selectors.source_record_counts(source=source),
        "webhook_url": request.build_absolute_uri(f"/webhooks/{source.kind}/{source.slug}/"),
        "failed_events": selectors.failed_raw_events(source=source),
        "polled": source.kind in POLLED_KINDS,
        "takes_webhooks": source.kind in CONNECTORS,
    }
    template = "pipelines/_sync_status.html" if request.htmx else "pipelines/source_detail.html"
    return render(request, template, context)


@login_required
@require_POST
def source_sync(request, slug: str):
    require_lead(request.user)
    source = get_object_or_404(selectors.source_list(), slug=slug)
    if source.kind not in POLLED_KINDS:
        messages.error(request, f"{source.get_kind_display()} sources are not polled.")
        return redirect("source_detail", slug=source.slug)
    services.sync_source_queue(
        source=source, trigger="manual", full=request.POST.get("full") == "1"
    )
    messages.success(request, "Sync queued.")
    return redirect("source_detail", slug=source.slug)


def _record_list(request, *, model, filterset_class, template: str, related: tuple):
    queryset = model.objects.filter(service__in=visible_services(request.user)).select_related(
        *related
    )
    filterset = filterset_class(request.GET or None, queryset=queryset, user=request.user)
    # Unbound (no query string): everything. Bound with errors: nothing, and the errors shown.
    rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else queryset.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, template, {"filterset": filterset, "page": page, "query": query.urlencode()}
    )


@login_required
def run_list(request):
    return _record_list(
        request,
        model=PipelineRun,
        filterset_class=PipelineRunFilterSet,
        template="pipelines/run_list.html",
        related=("service", "source"),
    )


@login_required
def deployment_list(request):
    return _record_list(
        request,
        model=Deployment,
        filterset_class=DeploymentFilterSet,
        template="pipelines/deployment_list.html",
        related=("service", "environment", "source"),
    )
