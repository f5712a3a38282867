"""Error pages: JSON under /api/ (clients parse it), the site's own pages elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"


def _answer(request, status: int, detail: str, template: str):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": detail}, status=status)
    return render(request, template, {"detail": detail}, status=status)


def not_found(request, exception=None):
    return _answer(request, 404, "Not found.", "404.html")


def server_error(request):
    return _answer(request, 500, "Server error; it has been logged.", "500.html")


def permission_denied(request, exception=None):
    return _answer(request, 403, "You do not have permission to do this.", "403.html")


def bad_request(request, exception=None):
    return _answer(request, 400, "Bad request.", "400.html")
