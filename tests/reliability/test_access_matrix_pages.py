"""The pages (HTML views), walked from the urlconf: every named page outside /api/, /webhooks/
and /admin/, GET as each role, against one expected table; then POST as the other team's member
to every page that names a Checkout object: refused, nothing written. /admin/ only checks that
people who are not staff are sent to the admin's sign-in.
"""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.reliability import access_world
from tests.reliability.access_roles import LEADS, ORG_READERS, SIGNED_IN, Rule, expected
from tests.reliability.access_world import ROLES, attempt, url_patterns

SKIPPED_PREFIXES = ("api/", "webhooks/", "admin/")
# The sign-in pages, the health check (public by design: states, no data) and the portal's own
# monitoring (/metrics, /health/: being built for issue 10 with rules of their own).
NOT_WALKED = {"login", "logout", "healthz", "prometheus_metrics", "health_page"}
# page -> {URL keyword: world lookup}
PAGE_LOOKUPS = {
    "team_detail": {"slug": "team"},
    "service_detail": {"slug": "service"},
    "service_promotion": {"slug": "service"},
    "source_detail": {"slug": "cisource"},
    "source_edit": {"slug": "cisource"},
    "source_sync": {"slug": "cisource"},
    "pipeline_template_detail": {"slug": "pipelinetemplate"},
    "policy_detail": {"slug": "policy"},
    "compliance_service": {"slug": "service"},
    "waiver_decide": {"pk": "waiver"},
    "change_request_detail": {"key": "changerequest"},
    "incident_detail": {"pk": "incident"},
    "incident_review": {"pk": "incident"},
    "maturity_model_edit": {"slug": "maturitymodel"},
    "assessment_detail": {"slug": "assessment"},
    "assessment_review": {"slug": "assessment"},
    "evidence_download": {"pk": "evidence"},
    "evidence_remove": {"pk": "evidence"},
    "poc_compare": {"problem": "problem"},
    "poc_detail": {"slug": "poc"},
    "poc_evidence_download": {"slug": "poc", "pk": "pocevidence"},
    "poc_action": {"slug": "poc", "action": "approve"},
    "roadmap_version": {"slug": "roadmap", "number": "version"},
    "initiative_detail": {"slug": "initiative"},
    "deliverable_detail": {"slug": "deliverable"},
    "radar_entry": {"slug": "radarentry"},
    "training_plan": {"slug": "trainingplan"},
    "status_report_detail": {"slug": "statusreport"},
    "status_report_pdf": {"slug": "statusreport"},
    "service_slos": {"slug": "service"},
    "slo_detail": {"slug": "slo"},
    "slo_edit": {"slug": "slo"},
    "slo_delete": {"slug": "slo"},
    "slo_evaluate": {"slug": "slo"},
    "alert_rule_edit": {"pk": "alertrule"},
    "alert_rule_delete": {"pk": "alertrule"},
}
ORG_WIDE_PAGES = {
    "pipeline_template_detail", "policy_detail", "maturity_model_edit", "roadmap_version",
    "initiative_detail", "radar_entry", "poc_compare",
}  # fmt: skip
LEAD_PAGES = {
    "source_list", "source_create", "source_detail", "source_edit", "maturity_model_edit",
    "alert_list", "alert_rule_create", "alert_rule_edit", "review_policy", "slo_create",
}  # fmt: skip
# Pages of a Checkout object that only leads may open (others who see it: 403).
LEAD_OBJECT_PAGES = {"slo_edit"}
ORG_READER_PAGES = {"status_digest"}  # digest settings: for those who receive the digest
REDIRECTS = {"service_slos"}  # to the service's page, where its SLOs are shown
# What only Checkout's readers may read: never in a page shown to Mobile's member or to nobody.
CANARIES = ["Cart API", "Checkout errors", "Export CSV", "Dagster", "Runbook reviewed"]
# Actions reached by POST only: a GET is refused as a method, once signed in.
POST_ONLY = {
    "source_sync", "waiver_decide", "evidence_remove", "poc_action", "slo_delete",
    "slo_evaluate", "alert_rule_delete", "assessment_review",
}  # fmt: skip


# The module's world (built once) and each test's way into it.
world = access_world.world
db_in_world = access_world.db_in_world


def page_rule(name: str) -> Rule:
    """Pages follow the API's rules: lists for all, objects for those who see them."""
    looked_up = name in PAGE_LOOKUPS and name not in ORG_WIDE_PAGES and name not in POST_ONLY
    sees = None if looked_up else SIGNED_IN  # POST-only actions answer 405 before any lookup
    if name in ("status_report_detail", "status_report_pdf"):
        sees = ORG_READERS
    gate = LEADS if name in LEAD_PAGES else ORG_READERS if name in ORG_READER_PAGES else SIGNED_IN
    may = LEADS if name in LEAD_OBJECT_PAGES else gate
    ok = 405 if name in POST_ONLY else 302 if name in REDIRECTS else 200
    return Rule(gate=gate, may=may, sees=sees, ok=ok)


def pages(lookups: dict):
    for route, pattern in url_patterns():
        if route.startswith(SKIPPED_PREFIXES) or not pattern.name:
            continue
        keywords = PAGE_LOOKUPS.get(pattern.name, {})
        kwargs = {k: lookups.get(v, v) for k, v in keywords.items()}
        yield pattern.name, reverse(pattern.name, kwargs=kwargs), bool(keywords)


def browser(users: dict, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(users[role])
    return client


def test_every_page_answers_each_role_as_the_roles_table_says(db_in_world):
    world = db_in_world
    clients = {role: browser(world.users, role) for role in ROLES}
    leaks, unexpected, cells, walked = [], [], 0, 0

    for name, url, _ in pages(world.lookups):
        if name in NOT_WALKED:
            continue
        walked += 1
        rule = page_rule(name)
        for role in ROLES:
            got = attempt(clients[role], "get", url)
            cells += 1
            want = 302 if role == "anonymous" else expected(role, rule, "page")
            where = f"GET {url} as {role}: {got.status}, expected {want}"
            if role == "anonymous" and got.status == 302:
                if not got.response["Location"].startswith("/accounts/login/"):
                    unexpected.append(f"{where} to {got.response['Location']}")
            elif want in (302, 403, 404) and got.status < 300:
                leaks.append(where)
            elif want == 404 and got.status != 404:
                leaks.append(f"{where} (tells the object exists)")
            elif got.status != want:
                unexpected.append(where)
            if role in ("outsider", "nobody") and got.status == 200:
                body = got.response.content.decode(errors="replace")
                shown = [canary for canary in CANARIES if canary in body]
                if shown:
                    leaks.append(f"{where}: shows Checkout's {shown}")

    print(
        f"\n{cells} page cells ({walked} pages x {len(ROLES)} roles): "
        f"{len(leaks)} leaks, {len(unexpected)} unexpected"
    )
    assert not leaks and not unexpected, "\n".join(["LEAKS", *leaks, "UNEXPECTED", *unexpected])


def test_posts_to_another_teams_pages_are_refused_and_change_nothing(db_in_world):
    world = db_in_world
    outsider = browser(world.users, "outsider")
    refused, wrong = 0, []

    for name, url, names_an_object in pages(world.lookups):
        if not names_an_object or name in ORG_WIDE_PAGES or name in LEAD_PAGES:
            continue
        for data in ({}, {"decision": "grant", "comment": "mine", "status": "done"}):
            got = attempt(outsider, "post", url, data, format="multipart")
            if got.status in (403, 404) and not got.written:
                refused += 1
            else:
                wrong.append(f"POST {url} as outsider: {got.status}, wrote {got.written}")

    print(f"\n{refused} POSTs to Checkout's pages by Mobile's member: refused, 0 rows changed")
    assert not wrong, "\n".join(wrong)


def test_the_admin_sends_people_who_are_not_staff_to_its_sign_in(db_in_world):
    world = db_in_world
    for role in ROLES:
        got = attempt(browser(world.users, role), "get", "/admin/")
        staff = role != "anonymous" and world.users[role].is_staff
        if not staff:
            assert got.status == 302, (role, got.status)
            assert got.response["Location"].startswith("/admin/login/"), role
