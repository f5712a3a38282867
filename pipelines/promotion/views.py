"""Pages of the promotion view: every service across the environments, and one service's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from pipelines.promotion.selectors import promotion_overview as overview_of
from pipelines.promotion.selectors import service_promotion as promotion_of
from portal.selectors import service_get, service_list


@login_required
def promotion_overview(request):
    """One row per service the user sees (filtered by team, tier or words), a column per
    environment."""
    filterset, services = service_list(user=request.user, filters=request.GET or None)
    if filterset.is_bound and not filterset.is_valid():
        services = services.none()
    context = {
        "filterset": filterset,
        "promotion": overview_of(services=services),
        "query": request.GET.urlencode(),
    }
    return render(request, "pipelines/promotion.html", context)


@login_required
def service_promotion(request, slug: str):
    """One service's environments; htmx asks for the card alone (the service page loads it)."""
    service = service_get(user=request.user, slug=slug)
    promotion = promotion_of(service=service)
    context = {"service": service, "promotion": promotion, "row": promotion.services[0]}
    template = (
        "pipelines/promotion_card.html" if request.htmx else "pipelines/promotion_service.html"
    )
    return render(request, template, context)
