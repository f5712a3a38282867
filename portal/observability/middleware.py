"""First middleware: give each request an id, and count and time it for /metrics."""

from __future__ import annotations

import logging
import time

from django.core.signals import request_finished
from django.dispatch import receiver

from portal.observability import context, metrics

REQUEST_ID_HEADER = "X-Request-ID"

logger = logging.getLogger("flightdeck.requests")


class RequestIdMiddleware:
    """Binds the request id for the request's log lines and returns it in ``X-Request-ID``.

    The id comes from the client or the proxy when it is a sane token (so one id follows a
    request through the proxy's logs and ours), and is made up otherwise. First in MIDDLEWARE,
    so it also times and counts what the other middleware answer themselves (redirects, 403s).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = context.sane_request_id(request.headers.get(REQUEST_ID_HEADER))
        request_id = request_id or context.new_request_id()
        request.request_id = request_id
        # Not reset when this returns: Django logs 4xx and 5xx answers (django.request) after
        # the middleware chain, and those lines need the id most. request_finished clears it.
        context.bind_request_id(request_id)
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        response[REQUEST_ID_HEADER] = request_id
        route = metrics.route_of(request)
        metrics.record_request(
            method=request.method, route=route, status=response.status_code, seconds=seconds
        )
        # One line per request, with the id: what ties a request's other lines together.
        # The path only, never the query string (it may carry a token).
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        return response


@receiver(request_finished)
def _forget_request_id(**kwargs) -> None:
    """The thread serves another request next: its lines must not carry this one's id."""
    context.request_id.set(None)
