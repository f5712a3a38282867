"""The navigation: one entry per area that exists, shown to the roles that can use it."""

from __future__ import annotations

from django.urls import reverse

from portal.access import access_for


def navigation(request) -> dict:
    if not request.user.is_authenticated:
        return {}
    access = access_for(request.user)
    areas = [
        ("Home", reverse("home")),
        ("Teams", reverse("team_list")),
        ("Services", reverse("service_list")),
        ("API", reverse("api_docs")),
    ]
    if access.is_admin or request.user.is_staff:
        areas.append(("Admin", reverse("admin:index")))
    path = request.path
    home = reverse("home")
    return {
        "nav_areas": [
            {
                "label": label,
                "url": url,
                "active": path == url if url == home else path.startswith(url),
            }
            for label, url in areas
        ],
        "user_access": access,
    }
