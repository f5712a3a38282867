"""Demo SLOs (shared/DEMO.md): every Payments service keeps 99.5% availability over 28 days
(a budget of 3 h 22 min), measured from its incidents: the year of history's incidents spend
part of it. fraud-scoring's is burning: the alert firing now (pipelines/demo_support.py) burns
its budget at over a hundred times the sustainable rate, so the fast-burn page fires.
Loaded after the production-support part, whose open incident it measures."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.models import Service
from reporting.slos.models import Slo
from reporting.slos.services import slo_create

LEE = "lee@acme.example"


@transaction.atomic
def load() -> None:
    lee = get_user_model().objects.filter(username="lee").first()
    if lee is None or Slo.objects.exists():
        return
    for service in Service.objects.filter(team__name="Payments").order_by("slug"):
        slo_create(
            actor=lee,
            service=service,
            name=f"{service.name} availability",
            objective=99.5,
            window_days=28,
            emails=LEE,
        )
