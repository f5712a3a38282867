"""/healthz for load balancers and `make run`, and the health page for people.

/healthz: is the database reachable, the broker answering, a worker alive and beat ticking?
The page shows the same, plus each worker, the queues and every source's last sync.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.access import require_lead
from portal.observability import probes
from portal.observability.sources import source_health_list


@never_cache
@require_GET
def healthz(request):
    """200 when every part is "ok", else 503. Beat counts: without it nothing is polled, swept
    or rolled up, and the portal silently goes stale (`make run` and docker-compose start it)."""
    body = probes.health_checks(probes.broker_snapshot())
    healthy = all(value == "ok" for value in body.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **body}, status=200 if healthy else 503
    )


@never_cache
@login_required
@require_GET
def health_page(request):
    # Leads and admins, like the Sources page whose error messages it repeats.
    require_lead(request.user)
    snapshot = probes.broker_snapshot()
    checks = probes.health_checks(snapshot)
    context = {
        "checks": checks,
        "healthy": all(value == "ok" for value in checks.values()),
        "snapshot": snapshot,
        "beat_stale_seconds": probes.BEAT_STALE_SECONDS,
        "sources": source_health_list() if checks["database"] == "ok" else [],
    }
    return render(request, "portal/health.html", context)
