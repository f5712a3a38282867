"""Error pages: JSON under /api/ (clients parse it), the site's own page elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"

# status: (API detail, page title, page text)
ERRORS = {
    400: ("Bad request.", "Bad request", "The request could not be understood."),
    403: (
        "You do not have permission to do this.",
        "Not allowed",
        "Your role does not allow this page. Ask an admin if you need it.",
    ),
    404: (
        "Not found.",
        "Page not found",
        "There is nothing here, or nothing your role lets you see.",
    ),
    500: (
        "Server error; it has been logged.",
        "Something went wrong",
        "The error has been logged. Try again in a moment.",
    ),
}


def _answer(request, status: int):
    detail, title, text = ERRORS[status]
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": detail}, status=status)
    context = {"status": status, "title": title, "text": text}
    return render(request, "error.html", context, status=status)


def bad_request(request, exception=None):
    return _answer(request, 400)


def permission_denied(request, exception=None):
    return _answer(request, 403)


def not_found(request, exception=None):
    return _answer(request, 404)


def server_error(request):
    return _answer(request, 500)
