"""The navigation: one entry per area that exists, shown to the roles that can use it."""

from __future__ import annotations

from django.urls import reverse

from portal.access import access_for


def navigation(request) -> dict:
    if not request.user.is_authenticated:
        return {}
    access = access_for(request.user)
    # (section heading, label, url, the paths that belong to the area); the sections follow
    # the lead's week: see how delivery goes, design the process, improve the organisation.
    areas = [
        ("", "Home", reverse("home"), [reverse("home")]),
        ("", "Teams", reverse("team_list"), [reverse("team_list")]),
        ("", "Services", reverse("service_list"), [reverse("service_list")]),
        ("Measure", "Metrics", reverse("dora_dashboard"), [reverse("dora_dashboard")]),
        ("Measure", "Status", reverse("status_reports"), [reverse("status_reports")]),
        ("Measure", "Delivery", reverse("deployment_list"),
         [reverse("deployment_list"), reverse("run_list")]),
        ("Measure", "Incidents", reverse("incident_list"), [reverse("incident_list")]),
        ("Measure", "SLOs", reverse("slo_list"), [reverse("slo_list")]),
        ("Measure", "Environments", reverse("promotion_overview"), [reverse("promotion_overview")]),
        ("Design", "Templates", reverse("pipeline_template_list"),
         [reverse("pipeline_template_list"), reverse("template_conformance")]),
        ("Design", "Policies", reverse("policy_list"),
         ["/pipelines/policies/", "/pipelines/compliance/", "/pipelines/waivers/"]),
        ("Design", "Change requests", reverse("change_request_list"),
         [reverse("change_request_list")]),
        ("Improve", "Roadmap", reverse("roadmap"), [reverse("roadmap"), "/deliverables/"]),
        ("Improve", "Maturity", reverse("maturity_home"), [reverse("maturity_home")]),
        ("Improve", "Training", reverse("training_plans"), [reverse("training_plans")]),
        ("Improve", "POCs", reverse("poc_list"), [reverse("poc_list")]),
        ("Improve", "Radar", reverse("radar"), [reverse("radar")]),
    ]  # fmt: skip
    if access.is_lead:
        areas.append(("Set up", "Sources", reverse("source_list"), [reverse("source_list")]))
        areas.append(("Set up", "Health", reverse("health_page"), [reverse("health_page")]))
    areas.append(("Set up", "API", reverse("api_docs"), [reverse("api_docs")]))
    if access.is_admin or request.user.is_staff:
        areas.append(("Set up", "Admin", reverse("admin:index"), [reverse("admin:index")]))
    # The area whose path prefix matches the longest (/metrics/slos/ is SLOs, not Metrics).
    home, path = reverse("home"), request.path
    matched = {
        label: max((len(p) for p in prefixes if path == p or (p != home and path.startswith(p))),
                   default=0)
        for _section, label, _url, prefixes in areas
    }  # fmt: skip
    best = max(matched.values(), default=0)
    return {
        "nav_areas": [
            {
                "section": section,
                "label": label,
                "url": url,
                "active": best > 0 and matched[label] == best,
            }
            for section, label, url, _prefixes in areas
        ],
        "user_access": access,
    }
