"""The navigation: one entry per area that exists, shown to the roles that can use it."""

from __future__ import annotations

from django.urls import reverse

from portal.access import access_for


def navigation(request) -> dict:
    if not request.user.is_authenticated:
        return {}
    access = access_for(request.user)
    # (label, url, the paths that belong to the area)
    areas = [
        ("Home", reverse("home"), [reverse("home")]),
        ("Teams", reverse("team_list"), [reverse("team_list")]),
        ("Services", reverse("service_list"), [reverse("service_list")]),
        ("Metrics", reverse("dora_dashboard"), [reverse("dora_dashboard")]),
        ("Status", reverse("status_reports"), [reverse("status_reports")]),
        ("Maturity", reverse("maturity_home"), [reverse("maturity_home")]),
        ("Training", reverse("training_plans"), [reverse("training_plans")]),
        ("POCs", reverse("poc_list"), [reverse("poc_list")]),
        ("Radar", reverse("radar"), [reverse("radar")]),
        (
            "Roadmap",
            reverse("roadmap"),
            [reverse("roadmap"), "/deliverables/"],
        ),
        (
            "Templates",
            reverse("pipeline_template_list"),
            [reverse("pipeline_template_list"), reverse("template_conformance")],
        ),
        (
            "Change requests",
            reverse("change_request_list"),
            [reverse("change_request_list")],
        ),
        ("Environments", reverse("promotion_overview"), [reverse("promotion_overview")]),
        (
            "Policies",
            reverse("policy_list"),
            ["/pipelines/policies/", "/pipelines/compliance/", "/pipelines/waivers/"],
        ),
        (
            "Delivery",
            reverse("deployment_list"),
            [reverse("deployment_list"), reverse("run_list"), reverse("incident_list")],
        ),
    ]
    if access.is_lead:
        areas.append(("Sources", reverse("source_list"), [reverse("source_list")]))
    areas.append(("API", reverse("api_docs"), [reverse("api_docs")]))
    if access.is_admin or request.user.is_staff:
        areas.append(("Admin", reverse("admin:index"), [reverse("admin:index")]))
    home = reverse("home")
    return {
        "nav_areas": [
            {
                "label": label,
                "url": url,
                "active": any(
                    request.path == p if p == home else request.path.startswith(p) for p in prefixes
                ),
            }
            for label, url, prefixes in areas
        ],
        "user_access": access,
    }
