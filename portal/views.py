"""Pages of the shared core. Each view reads through a selector and renders; no rules here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from portal import selectors
from portal.access import access_for
from roadmap.selectors import awaiting_decision

PAGE_SIZE = 25


@login_required
def home(request):
    access = access_for(request.user)
    teams, own = selectors.home_teams(user=request.user)
    context = {
        "teams": teams,
        "own_teams": own,
        "service_count": sum(team.service_count for team in teams),
        "organisation_roles": sorted(access.organisation_roles),
        "awaiting": awaiting_decision(request.user),
    }
    return render(request, "portal/home.html", context)


@login_required
def team_list(request):
    filterset, teams = selectors.team_list(user=request.user, filters=request.GET)
    return render(request, "portal/team_list.html", {"filterset": filterset, "teams": teams})


@login_required
def team_detail(request, slug: str):
    team = selectors.team_get(user=request.user, slug=slug)
    context = {
        "team": team,
        "services": team.services.order_by("name"),
        "members": selectors.team_members(team=team),
        "history": selectors.audit_events_for(user=request.user, instance=team),
    }
    return render(request, "portal/team_detail.html", context)


@login_required
def service_list(request):
    filterset, services = selectors.service_list(user=request.user, filters=request.GET)
    page = Paginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    template = "portal/_service_table.html" if request.htmx else "portal/service_list.html"
    return render(request, template, context)


@login_required
def service_detail(request, slug: str):
    service = selectors.service_get(user=request.user, slug=slug)
    context = {
        "service": service,
        "history": selectors.audit_events_for(user=request.user, instance=service),
    }
    return render(request, "portal/service_detail.html", context)
