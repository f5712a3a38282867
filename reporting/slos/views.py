"""SLO pages, under /metrics/slos/: every SLO the user may see with its budget and burn
rates, one SLO with its alerts, the form leads add and edit them with, and the card the
service page loads. Writes go through reporting.slos.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.access import access_for, visible_services
from portal.exceptions import ApplicationError, add_to_form
from portal.models import Role, Service
from portal.selectors import service_get
from reporting.slos import selectors, services
from reporting.slos.api import SloFilterSet
from reporting.slos.forms import SloForm
from reporting.slos.models import Slo


def _editable_services(user):
    access = access_for(user)
    queryset = visible_services(user).select_related("team").order_by("name")
    if access.is_lead:
        return queryset
    teams = [t for t in access.team_ids if access.has_team_role(t, Role.ADMIN, Role.LEAD)]
    return queryset.filter(team_id__in=teams)


def _get_slo(request, slug: str) -> Slo:
    return get_object_or_404(selectors.visible_slos(request.user), slug=slug)


@login_required
def slo_list(request):
    """Every SLO of the services the user may see (filters: team, service), burning first,
    and the latest SLO alerts."""
    queryset = selectors.visible_slos(request.user)
    filters = SloFilterSet(request.GET, queryset=queryset, request=request)
    slos = filters.qs if filters.is_valid() else queryset.none()
    order = {Slo.Level.PAGE: 0, Slo.Level.TICKET: 1, Slo.Level.OK: 2}
    rows = sorted(
        slos,
        key=lambda s: (order.get(s.level, 3), s.budget_remaining or 0, s.service.name, s.name),
    )
    context = {
        "filters": filters,
        "slos": rows,
        "alerts": selectors.recent_alerts(slos=slos),
        "may_edit": services.edits_any(access_for(request.user)),
    }
    return render(request, "reporting/slos/slo_list.html", context)


@login_required
def slo_detail(request, slug: str):
    slo = _get_slo(request, slug)
    context = {
        "slo": slo,
        "burns": [(name, slo.burn_rates.get(name)) for name in ("5m", "30m", "1h", "6h", "3d")],
        "alerts": slo.alerts.prefetch_related("notifications")[:50],
        "may_edit": services.may_edit(request.user, slo.service),
    }
    return render(request, "reporting/slos/slo_detail.html", context)


def _save(request, form: SloForm, slo: Slo | None):
    data = form.service_arguments()
    try:
        if slo is None:
            return services.slo_create(actor=request.user, **data)
        return services.slo_update(actor=request.user, slo=slo, data=data)
    except ApplicationError as error:
        add_to_form(form, error)
        return None


@login_required
def slo_create(request):
    editable = _editable_services(request.user)
    if not services.edits_any(access_for(request.user)):
        raise PermissionDenied("Only leads (and a service's team leads) add SLOs.")
    initial = {"service": request.GET.get("service"), "window_days": 28, "is_active": True}
    form = SloForm(request.POST or None, services=editable, initial=initial)
    if request.method == "POST" and form.is_valid():
        slo = _save(request, form, None)
        if slo is not None:
            messages.success(request, f"SLO “{slo.name}” of {slo.service.name} added.")
            return redirect("slo_detail", slug=slo.slug)
    return render(request, "reporting/slos/slo_form.html", {"form": form, "slo": None})


@login_required
def slo_edit(request, slug: str):
    slo = _get_slo(request, slug)
    if not services.may_edit(request.user, slo.service):
        raise PermissionDenied("Only leads (and the service's team leads) edit its SLOs.")
    form = SloForm(request.POST or None, slo=slo)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, slo)
        if saved is not None:
            messages.success(request, f"SLO “{saved.name}” saved.")
            return redirect("slo_detail", slug=saved.slug)
    return render(request, "reporting/slos/slo_form.html", {"form": form, "slo": slo})


@login_required
@require_POST
def slo_delete(request, slug: str):
    slo = _get_slo(request, slug)
    services.slo_delete(actor=request.user, slo=slo)  # PermissionDenied for non-editors
    messages.success(request, f"SLO “{slo.name}” of {slo.service.name} deleted.")
    return redirect("slo_list")


@login_required
@require_POST
def slo_evaluate(request, slug: str):
    """Evaluate now (editors): a Prometheus query's error shows on the page at once."""
    slo = _get_slo(request, slug)
    if not services.may_edit(request.user, slo.service):
        raise PermissionDenied("Only leads (and the service's team leads) evaluate its SLOs.")
    slo = services.slo_evaluate(slo=slo)
    services.notifications_queue()
    if slo.is_failing:
        messages.error(request, f"Not evaluated: {slo.last_error}")
    else:
        messages.success(request, "Evaluated.")
    return redirect("slo_detail", slug=slo.slug)


@login_required
def service_slos(request, slug: str):
    """One service's SLOs: the card the service page loads with htmx (the list otherwise)."""
    service: Service = service_get(user=request.user, slug=slug)
    if not request.htmx:
        return redirect(f"{reverse('slo_list')}?service={service.slug}")
    context = {
        "service": service,
        "slos": selectors.slos_of_service(service=service),
        "may_edit": services.may_edit(request.user, service),
    }
    return render(request, "reporting/slos/_service_card.html", context)
