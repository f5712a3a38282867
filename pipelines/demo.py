"""Acme Retail's year of delivery history (shared/DEMO.md): sources, runs, deployments, incidents.

Each team's profile is drawn so that its DORA numbers tell the demo's story: Payments elite,
Checkout stepping up after adopting the standard pipeline about six months ago, Catalog weekly
with a flaky suite and a red main now and then, Mobile's monthly releases and painful spring
incident, Platform high, Data weekly. The history ends at ``timezone.now()`` and comes from a
fixed seed, so the same day gives the same shape.

The records are bulk-inserted rather than written through ``records_apply``: that writer upserts
per service and re-reads to link, which suits connectors but is far too slow for a year of twenty
services. Every key here is generated unique, so plain inserts cannot collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count

from django.db import transaction
from django.utils import timezone

from pipelines import demo_process, services
from pipelines.demo_story import (
    SOURCES,
    WEB,
)
from pipelines.models import CISource, Deployment
from pipelines.signals import records_stored
from portal.models import Environment, Service


@dataclass
class Repo:
    """A service's repository on its source, with its own number sequences."""

    service: Service
    source: CISource
    name: str
    numbers: Iterator[int]  # issues and pull requests share one sequence, as on GitHub
    builds: Iterator[int] = field(default_factory=lambda: count(101))  # Jenkins build numbers

    def link(self, which: str, **values: object) -> str:
        template = getattr(WEB[self.source.kind], which)
        return template.format(repo=self.name, slug=self.service.slug, **values)


def load() -> None:
    """The year of history, then the designed process read against it (demo_process.py)."""
    history_load()
    demo_process.load()


@transaction.atomic
def history_load() -> None:
    """Create the demo sources and a year of history, unless the demo sources already exist."""
    if CISource.objects.filter(slug__in=[source[0] for source in SOURCES]).exists():
        return
    now = timezone.now()
    from pipelines.demo_history import History  # it imports Repo from this module

    history = History(now, {env.name: env for env in Environment.objects.all()})
    for slug, kind, name, base_url, teams, prefix in SOURCES:
        team_services = Service.objects.filter(team__name__in=teams).select_related("team")
        team_services = sorted(team_services, key=lambda s: s.slug)
        source = services.source_create(
            actor=None,
            kind=kind,
            name=name,
            slug=slug,
            base_url=base_url,
            repositories=[{"name": prefix + s.slug, "service": s.slug} for s in team_services],
            is_active=False,  # fake hosts: the beat must never poll them
            token=f"demo-token-{slug}",
            webhook_secret=f"demo-webhook-secret-{slug}",
        )
        CISource.objects.filter(pk=source.pk).update(last_success_at=now - timedelta(minutes=4))
        for service in team_services:
            numbers = count(history.rng.randint(100, 900))
            history.service(Repo(service, source, prefix + service.slug, numbers))
    history.save()  # analyses the tables it fills (see there)
    records_stored.send(sender=Deployment)  # the metrics rollups follow
