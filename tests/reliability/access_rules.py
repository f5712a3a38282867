"""The expected answer of every API endpoint x method x role: the table, built from the role
sets and rule makers of access_roles.py (whose docstring says how an answer is derived)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.reliability.access_roles import (
    ADMINS,
    APPROVERS,
    IN_A_TEAM,
    LEADS,
    ORG_READERS,
    SIGNED_IN,
    WORKS_SOMEWHERE,
    Rule,
    create_in_checkout,
    leads,
    not_allowed,
    org_leads,
    read,
    team_work,
)


def rules(lookups: dict) -> dict[tuple[str, str], Rule]:
    """(URL name, method) -> Rule, with bodies naming the world's objects."""
    today = timezone.localdate()
    now = timezone.now().replace(microsecond=0)
    later = (today + timedelta(days=20)).isoformat()
    stages = [{"name": "Build", "kind": "build"}, {"name": "Unit tests", "kind": "unit_test"}]
    deployment = {
        "external_id": "matrix-deploy", "service": "cart-api", "environment": "production",
        "status": "success", "started_at": (now - timedelta(minutes=9)).isoformat(),
        "finished_at": (now - timedelta(minutes=1)).isoformat(), "sha": "b" * 40,
    }  # fmt: skip
    incident = {
        "external_id": "matrix-incident", "service": "cart-api", "title": "Pushed",
        "opened_at": (now - timedelta(minutes=5)).isoformat(),
    }  # fmt: skip
    poc = {
        "title": "Temporal for the jobs", "tool": "Temporal", "quadrant": "tools",
        "problem": "Retries by hand.", "team": "checkout", "starts_on": later, "ends_on": later,
    }  # fmt: skip
    source = {"kind": "github", "name": "Checkout GitHub", "base_url": "https://api.github.com/"}
    return {
        # --- the core -----------------------------------------------------------------------------
        ("team-list", "get"): read(SIGNED_IN),
        ("team-list", "post"): Rule(gate=ADMINS, may=ADMINS, ok=201, body={"name": "Search"}),
        ("team-detail", "get"): read(),
        ("team-detail", "put"): leads({"name": "Checkout", "description": "Baskets"}),
        ("team-detail", "patch"): leads({"description": "Baskets"}),
        # Checkout still owns services: the admin's delete is refused as a conflict.
        ("team-detail", "delete"): Rule(gate=ADMINS, may=ADMINS, ok=409),
        ("service-list", "get"): read(SIGNED_IN),
        ("service-list", "post"): create_in_checkout(
            {"name": "Pricing", "team": "checkout"}, gate=IN_A_TEAM
        ),
        ("service-detail", "get"): read(),
        ("service-detail", "put"): team_work(
            {"name": "Cart API", "team": "checkout"}, gate=IN_A_TEAM
        ),
        ("service-detail", "patch"): team_work({"tier": 1}, gate=IN_A_TEAM),
        ("service-detail", "delete"): Rule(gate=IN_A_TEAM, may=LEADS, ok=204),
        ("environment-list", "get"): read(SIGNED_IN),
        ("environment-list", "post"): org_leads({"name": "qa"}),
        ("environment-detail", "get"): read(),
        ("environment-detail", "put"): leads({"name": "staging"}),
        ("environment-detail", "patch"): leads({"position": 5}),
        ("environment-detail", "delete"): leads(ok=204),
        # --- CI sources (admins only, reads included) and records ---------------------------------
        ("cisource-list", "get"): Rule(gate=ADMINS),
        ("cisource-list", "post"): Rule(gate=ADMINS, ok=201, body={**source, "name": "Other"}),
        ("cisource-detail", "get"): Rule(gate=ADMINS),
        ("cisource-detail", "put"): Rule(gate=ADMINS, body=source),
        ("cisource-detail", "patch"): Rule(gate=ADMINS, body={"name": "Renamed"}),
        ("cisource-detail", "delete"): Rule(gate=ADMINS, ok=204),
        ("cisource-sync", "post"): Rule(gate=ADMINS, ok=202),
        ("pipelinerun-list", "get"): read(SIGNED_IN),
        ("pipelinerun-detail", "get"): read(),
        ("jobrun-list", "get"): read(SIGNED_IN),
        ("jobrun-detail", "get"): read(),
        ("change-list", "get"): read(SIGNED_IN),
        ("change-detail", "get"): read(),
        ("deployment-list", "get"): read(SIGNED_IN),
        ("deployment-list", "post"): create_in_checkout(deployment),
        ("deployment-detail", "get"): read(),
        # --- templates ----------------------------------------------------------------------------
        ("pipelinetemplate-list", "get"): read(SIGNED_IN),
        ("pipelinetemplate-list", "post"): org_leads({"name": "Lean", "stages": stages}),
        ("pipelinetemplate-detail", "get"): read(),
        ("pipelinetemplate-detail", "put"): not_allowed(LEADS),
        ("pipelinetemplate-detail", "patch"): leads({"description": "Build, test, deploy."}),
        ("pipelinetemplate-render-config", "get"): read(),
        ("pipelinetemplate-versions", "get"): read(),
        ("pipelinetemplate-versions", "post"): leads({"note": "v2", "stages": stages}, ok=201),
        ("templateassignment-list", "get"): read(SIGNED_IN),
        ("templateassignment-list", "post"): Rule(
            gate=LEADS, may=LEADS, body={"service": "cart-api", "template": "standard-service"}
        ),  # cart-api follows it already: 200, replaced
        ("templateassignment-detail", "get"): read(),
        ("templateassignment-detail", "delete"): leads(ok=204),
        ("templateconformance-list", "get"): read(SIGNED_IN),
        ("templateconformance-detail", "get"): read(),
        # --- incidents, reviews -------------------------------------------------------------------
        ("incident-list", "get"): read(SIGNED_IN),
        ("incident-list", "post"): create_in_checkout(incident, gate=WORKS_SOMEWHERE),
        ("incident-open", "post"): create_in_checkout(
            {"service": "cart-api", "title": "Down"}, gate=WORKS_SOMEWHERE
        ),
        ("incident-report", "get"): read(SIGNED_IN),
        ("incident-detail", "get"): read(),
        ("incident-acknowledge", "post"): team_work({}),
        ("incident-mitigate", "post"): team_work({}),
        ("incident-notes", "post"): team_work({"text": "Rolling back"}, ok=201),
        ("incident-reopen", "post"): team_work({}, ok=409),  # open: nothing to reopen
        ("incident-resolve", "post"): team_work({}),
        ("incident-triage", "post"): team_work({"severity": "sev2"}),
        ("postincidentreview-list", "get"): read(SIGNED_IN),
        # The incident has its review already: 409 for those who may start one.
        ("postincidentreview-list", "post"): create_in_checkout(
            {"incident": lookups["incident"]}, gate=WORKS_SOMEWHERE, ok=409
        ),
        ("postincidentreview-detail", "get"): read(),
        ("postincidentreview-detail", "put"): not_allowed(WORKS_SOMEWHERE),
        ("postincidentreview-detail", "patch"): team_work({"impact": "Carts lost"}),
        ("postincidentreview-add-action", "post"): team_work(
            {"title": "Alert on errors", "due_on": later}, ok=201
        ),
        ("postincidentreview-publish", "post"): team_work(ok=409),  # the incident is open
        ("reviewaction-list", "get"): read(SIGNED_IN),
        ("reviewaction-detail", "get"): read(),
        ("reviewaction-done", "post"): team_work(),
        ("reviewaction-reopen", "post"): team_work(ok=409),  # open already
        ("reviewaction-to-improvement-action", "post"): team_work(
            {"capability_key": lookups["capability"]}, ok=201
        ),
        # Leads plan: the roadmap is locked while version 1 awaits its approvers (409).
        ("reviewaction-to-initiative", "post"): Rule(
            gate=WORKS_SOMEWHERE,
            may=LEADS,
            ok=409,
            body={"roadmap": lookups["roadmap"], "theme": "faster-delivery"},
        ),
        ("reviewaction-to-training-item", "post"): Rule(
            gate=WORKS_SOMEWHERE, may=LEADS, ok=201, body={"kind": "course"}
        ),
        ("review_policy_api", "get"): read(SIGNED_IN),
        ("review_policy_api", "put"): leads({"required_severities": ["sev1"], "due_days": 5}),
        # --- policies, waivers, change requests ---------------------------------------------------
        ("policy-list", "get"): read(SIGNED_IN),
        ("policy-list", "post"): org_leads({"name": "Scanned", "text": "Scan everything."}),
        ("policy-detail", "get"): read(),
        ("policy-detail", "patch"): leads({"text": "Production from main only."}),
        ("policyrule-list", "get"): read(SIGNED_IN),
        ("policyrule-list", "post"): org_leads(
            {"policy": lookups["policy"], "kind": "prod_from_default_branch", "key": "again"}
        ),
        ("policyrule-detail", "get"): read(),
        ("policyrule-detail", "patch"): leads({"window_days": 10}),
        ("compliance", "get"): read(SIGNED_IN),
        ("waiver-list", "get"): read(SIGNED_IN),
        # Cart API has an undecided request for the rule already: 409 for those who may ask.
        ("waiver-list", "post"): create_in_checkout(
            {
                "rule": lookups["policyrule"],
                "service": "cart-api",
                "reason": "Again",
                "expires_on": later,
            },
            gate=WORKS_SOMEWHERE,
            ok=409,
            unseen=404,
        ),  # a service one may not see: 404, as for one that does not exist
        ("waiver-detail", "get"): read(),
        ("waiver-grant", "post"): leads({}),
        ("waiver-refuse", "post"): leads({"comment": "No"}),
        ("changerequest-list", "get"): read(SIGNED_IN),
        ("changerequest-list", "post"): create_in_checkout(
            {"team": "checkout", "title": "Invoices", "requester": "ACME"}, gate=WORKS_SOMEWHERE
        ),
        ("changerequest-lead-time", "get"): read(SIGNED_IN),
        ("changerequest-detail", "get"): read(),
        ("changerequest-detail", "put"): not_allowed(WORKS_SOMEWHERE),
        ("changerequest-detail", "patch"): team_work({"title": "Export invoices"}),
        ("changerequest-accept", "post"): leads({}),
        ("changerequest-reject", "post"): leads({"comment": "Not now"}),
        ("changerequest-start", "post"): team_work(ok=409),  # in intake: accept it first
        ("changerequest-links", "post"): team_work(
            {"service": "cart-api", "deployment": "checkout-deploy"}, ok=201
        ),
        ("changerequest-links", "delete"): team_work(ok=400),  # names nothing to unlink
        # --- maturity -----------------------------------------------------------------------------
        ("maturitymodel-list", "get"): read(SIGNED_IN),
        ("maturitymodel-list", "post"): org_leads({"yaml": "not: a model"}, ok=400),
        ("maturitymodel-detail", "get"): read(),
        ("maturitymodel-detail", "put"): leads({"yaml": "not: a model"}, ok=400),
        ("maturitymodel-yaml", "get"): read(),
        ("assessment-list", "get"): read(SIGNED_IN),
        ("assessment-list", "post"): create_in_checkout(
            {"team": "checkout", "model": lookups["maturitymodel"], "period": "2026-Q4"}
        ),
        ("assessment-detail", "get"): read(),
        ("assessment-rating", "patch"): team_work({"level": 2}, gate=SIGNED_IN),
        ("assessment-rating-evidence", "post"): team_work("FILE", ok=201, gate=SIGNED_IN),
        # Looked up first (another team's is a 404), then leads only; a draft is not reviewed.
        ("assessment-review", "post"): Rule(may=LEADS, ok=409, body={"accept": True}),
        ("assessment-submit", "post"): team_work(gate=SIGNED_IN),
        # --- training -----------------------------------------------------------------------------
        ("skill-list", "get"): read(SIGNED_IN),
        ("skill-list", "post"): org_leads({"slug": "kubernetes", "name": "Kubernetes"}),
        ("skill-detail", "get"): read(),
        ("skill-targets", "put"): leads({"member": 2, "lead": 3}),
        ("skillrating-list", "get"): read(SIGNED_IN),
        # Anyone rates themself (everyone has no rating of their own but mo and kim).
        ("skillrating-list", "post"): Rule(
            ok=201, body={"skill": lookups["skill"], "self_level": 3}, sees=SIGNED_IN
        ),
        ("skillrating-detail", "get"): read(),
        ("skillrating-confirm", "post"): Rule(may=LEADS, body={"level": 2}),
        ("trainingplan-list", "get"): read(SIGNED_IN),
        ("trainingplan-list", "post"): create_in_checkout(
            {"team": "checkout", "period": "2026-Q4", "budget": "100"}, may=LEADS
        ),
        ("trainingplan-detail", "get"): read(),
        ("trainingplan-items", "post"): Rule(
            may=LEADS, ok=201, body={"kind": "course", "title": "Helm"}
        ),
        # Leads and the item's attendees (it has none).
        ("trainingplan-item", "patch"): Rule(may=LEADS, body={"status": "in_progress"}),
        ("trainingplan-needs", "get"): read(),
        # --- POCs and the radar -------------------------------------------------------------------
        ("poc-list", "get"): read(SIGNED_IN),
        ("poc-list", "post"): create_in_checkout(poc),
        ("poc-detail", "get"): read(),
        ("poc-detail", "put"): not_allowed(),
        ("poc-detail", "patch"): team_work({"hypothesis": "Fewer pages"}, gate=SIGNED_IN),
        ("poc-approve", "post"): Rule(may=LEADS, body={}),
        ("poc-criteria", "put"): team_work(
            [{"key": "fit", "name": "Fit", "weight": 2}], gate=SIGNED_IN
        ),
        ("poc-decide", "post"): Rule(
            may=LEADS, ok=409, body={"outcome": "adopt", "rationale": "Works"}
        ),  # proposed, not reviewed: nothing to decide yet
        ("poc-evaluations", "get"): read(),
        # mo is the only evaluator; a proposed POC takes no evaluation yet.
        ("poc-evaluations", "post"): Rule(
            may=frozenset({"member"}), ok=409, body={"scores": {"fit": {"score": 4}}}
        ),
        ("poc-evidence", "post"): team_work(
            {"title": "Notes", "url": "https://x.test/"}, ok=201, gate=SIGNED_IN
        ),
        ("poc-review", "post"): team_work({}, ok=409, gate=SIGNED_IN),  # not started
        ("poc-start", "post"): team_work({}, ok=409, gate=SIGNED_IN),  # not approved
        ("poc-withdraw", "post"): team_work({"comment": "Dropped"}, gate=SIGNED_IN),
        ("radarquadrant-list", "get"): read(SIGNED_IN),
        ("radarquadrant-list", "post"): org_leads({"name": "Methods"}),
        ("radarquadrant-detail", "get"): read(),
        ("radarentry-list", "get"): read(SIGNED_IN),
        ("radarentry-list", "post"): org_leads(
            {"name": "Flux", "quadrant": "tools", "ring": "assess", "reason": "GitOps too"}
        ),
        ("radarentry-export", "get"): read(SIGNED_IN),
        ("radarentry-detail", "get"): read(),
        ("radarentry-detail", "put"): not_allowed(),
        ("radarentry-detail", "patch"): leads({"description": "GitOps delivery"}),
        ("radarentry-move", "post"): leads({"ring": "adopt", "reason": "Everywhere now"}),
        # --- the roadmap --------------------------------------------------------------------------
        ("roadmap-list", "get"): read(SIGNED_IN),
        ("roadmap-list", "post"): org_leads({"name": "DevOps 2028"}),
        ("roadmap-detail", "get"): read(),
        ("roadmap-detail", "put"): not_allowed(LEADS),
        ("roadmap-detail", "patch"): leads({"description": "The plan"}),
        # Version 1 awaits its approver: the plan is locked (409) until it is decided.
        ("roadmap-themes", "post"): leads({"name": "Safer changes"}, ok=409),
        ("roadmapversion-list", "get"): read(),
        ("roadmapversion-detail", "get"): read(),
        ("roadmapversion-submit", "post"): leads({}, ok=409),  # submitted already
        ("roadmapversion-approve", "post"): Rule(may=APPROVERS, body={}),
        ("roadmapversion-request-changes", "post"): Rule(may=APPROVERS, body={"comment": "No"}),
        ("initiative-list", "get"): read(SIGNED_IN),
        ("initiative-list", "post"): org_leads(
            {
                "title": "Golden paths",
                "roadmap": lookups["roadmap"],
                "theme": "faster-delivery",
                "starts_on": "2027-01-01",
                "ends_on": "2027-03-31",
            },
            ok=409,
        ),
        ("initiative-detail", "get"): read(),
        ("initiative-detail", "patch"): leads({"description": "Everyone"}, ok=409),
        ("deliverable-list", "get"): read(SIGNED_IN),
        ("deliverable-list", "post"): Rule(
            gate=LEADS,
            may=LEADS,
            ok=409,
            sees=SIGNED_IN,
            body={
                "title": "Pricing on the pipeline",
                "initiative": lookups["initiative"],
                "team": "checkout",
                "starts_on": "2027-01-01",
                "due_on": "2027-03-31",
            },
        ),
        ("deliverable-detail", "get"): read(),
        ("deliverable-detail", "patch"): team_work({"progress": 20}, gate=IN_A_TEAM),
        ("deliverable-accept", "post"): leads({}, ok=409),  # not submitted
        ("deliverable-return", "post"): leads({"comment": "More"}, ok=409),
        ("deliverable-target-check", "post"): leads({"met": True}),
        ("deliverable-costs", "post"): team_work(
            {"amount": "100", "incurred_on": "2026-01-05"}, ok=201, gate=IN_A_TEAM
        ),
        ("deliverable-submit", "post"): team_work({}, gate=IN_A_TEAM),
        # --- reporting ----------------------------------------------------------------------------
        ("metrics_dora", "get"): read(SIGNED_IN),
        ("metrics_dora_trend", "get"): read(SIGNED_IN),
        ("metrics_pipeline_health", "get"): read(SIGNED_IN),
        ("service_promotion_api", "get"): read(),
        ("statusreport-list", "get"): read(SIGNED_IN),
        ("statusreport-list", "post"): Rule(
            gate=ORG_READERS,
            ok=201,
            sees=SIGNED_IN,
            body={
                "period_start": (today - timedelta(days=3)).isoformat(),
                "period_end": (today - timedelta(days=1)).isoformat(),
            },
        ),
        ("statusreport-detail", "get"): read(),
        ("statusreport-pdf", "get"): read(),
        ("slo-list", "get"): read(SIGNED_IN),
        ("slo-list", "post"): create_in_checkout(
            {"name": "Latency", "service": "cart-api", "objective": 99}, gate=LEADS, may=LEADS
        ),
        ("slo-detail", "get"): read(),
        ("slo-detail", "patch"): leads({"objective": 99.5}),
        ("slo-detail", "delete"): leads(ok=204),
    }
