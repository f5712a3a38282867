"""Radar pages: the chart with its filters and "moved since" rings, the entries and their
adoption in the pipelines; one entry with its history and POCs. Leads add and move entries."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date

from poc import radar_services
from poc.charts import radar_html
from poc.filtersets import RadarEntryFilterSet
from poc.forms import MoveForm, RadarEntryForm
from poc.models import Evidence, Quadrant, RadarEntry
from poc.selectors import ADOPTION_DAYS, adoption, score_summary, visible_pocs
from portal.access import access_for, require_lead
from portal.exceptions import ApplicationError, add_to_form

MOVED_SINCE_DAYS = 90


def _entries():
    return RadarEntry.objects.select_related("quadrant").prefetch_related("moves", "pocs")


@login_required
def radar(request):
    form = RadarEntryForm(request.POST or None)
    if request.method == "POST":
        require_lead(request.user)
        if form.is_valid():
            try:
                entry = radar_services.entry_create(actor=request.user, **form.cleaned_data)
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                messages.success(request, f"{entry.name} is on the radar in {entry.ring}.")
                return redirect("radar")
    query = request.GET.copy()
    highlight = parse_date(query.pop("highlight", [""])[0] or "") or (
        timezone.localdate() - timedelta(days=MOVED_SINCE_DAYS)
    )
    filters = RadarEntryFilterSet(query or None, queryset=_entries(), request=request)
    valid = not filters.is_bound or filters.is_valid()
    entries = list(filters.qs if valid else filters.queryset.none())
    quadrants = list(Quadrant.objects.all())
    usage = adoption(entries)
    for entry in entries:
        entry.usage = usage.get(entry.pk, [])
    context = {
        "filters": filters,
        "entries": entries,
        "chart": radar_html(entries, quadrants, moved_since=highlight),
        "highlight": highlight,
        "adoption_days": ADOPTION_DAYS,
        "form": form,
        "can_edit": access_for(request.user).is_lead,
    }
    return render(request, "poc/radar.html", context)


def _pocs_behind(user, entry):
    evidence = Prefetch("evidence", Evidence.objects.defer("file_data"))
    return (
        visible_pocs(user)
        .filter(radar_entry=entry)
        .select_related("team", "decision")
        .prefetch_related("criteria", evidence)
    )


@login_required
def radar_entry(request, slug: str):
    entry = get_object_or_404(_entries(), slug=slug)
    entry.usage = adoption([entry]).get(entry.pk, [])
    move = MoveForm(request.POST or None, initial={"ring": entry.ring})
    if request.method == "POST":
        require_lead(request.user)
        if move.is_valid():
            try:
                radar_services.entry_move(actor=request.user, entry=entry, **move.cleaned_data)
            except ApplicationError as error:
                add_to_form(move, error)
            else:
                messages.success(request, "Moved.")
                return redirect("radar_entry", slug=entry.slug)
    context = {
        "entry": entry,
        "history": entry.moves.select_related("poc", "moved_by").order_by("-moved_at", "-pk"),
        "pocs": [(poc, score_summary(poc)) for poc in _pocs_behind(request.user, entry)],
        "usage": entry.usage,
        "adoption_days": ADOPTION_DAYS,
        "move": move,
        "can_edit": access_for(request.user).is_lead,
    }
    return render(request, "poc/radar_entry.html", context)
