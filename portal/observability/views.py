"""GET /metrics: the Prometheus scrape endpoint (no trailing slash; /metrics/ is the DORA page)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from portal.access import access_for
from portal.observability import metrics


def _bearer_token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def _from_loopback(request) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _refusal(request) -> HttpResponse | None:
    """None when the caller may scrape: the metrics token, a signed-in lead or admin, or (with
    METRICS_OPEN_ON_LOOPBACK, on by default under `make run`) a request from this machine."""
    if _bearer_token_matches(request):
        return None
    if request.user.is_authenticated:
        if access_for(request.user).is_lead:
            return None
        return HttpResponse("Only leads and admins read the metrics.\n", status=403)
    if settings.METRICS_OPEN_ON_LOOPBACK and _from_loopback(request):
        return None
    refused = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
    refused["WWW-Authenticate"] = 'Bearer realm="flightdeck metrics"'
    return refused


@never_cache
@require_GET
def prometheus_metrics(request):
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    # Prometheus asks for OpenMetrics or the text format in Accept; older scrapers get text.
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics.registry_to_serve()), content_type=content_type)
