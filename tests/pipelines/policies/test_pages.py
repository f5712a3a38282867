"""The policy pages: the organisation's compliance, a policy and its versions, a service's
scorecard with evidence and its waiver form, the waiver queue; forms' refusals show on the
page and change nothing."""

from __future__ import annotations

from datetime import timedelta

from pipelines.models import Policy, RuleResult, Waiver
from pipelines.policies import services
from tests.pipelines.policies.conftest import NOW, TODAY, rule_of


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_empty_states_say_what_to_do(client_for, org):
    lead, member = (
        text(client_for("lee").get("/pipelines/policies/")),
        text(client_for("mo").get("/pipelines/policies/")),
    )

    assert "No lifecycle policies yet" in lead and "Add the policy" in lead
    assert "A DevOps lead writes them" in member and "Add the policy" not in member
    assert "No waiver awaits a decision" in text(client_for("lee").get("/pipelines/waivers/"))


def test_everyone_finds_policies_in_the_navigation(client_for, org):
    for who in ("val", "sam", "kim"):
        assert 'href="/pipelines/policies/"' in text(client_for(who).get("/"))


def test_the_compliance_page_shows_totals_teams_services_trend_and_rules(client_for, results):
    page = text(client_for("sam").get("/pipelines/policies/"))

    assert "75%" in page  # the organisation: 9 of 12
    assert "9 of 12" in page
    assert "57%" in page  # checkout 4 of 7
    assert "Checkout web" in page and "App API" in page
    assert "data-plotly=" in page and "vendor/plotly.min.js" in page
    assert "approval-for-tier" in page and "Safe delivery" in page
    assert "Add the policy" not in page, "no lead tools for a stakeholder"
    assert "data-plotly=" in text(client_for("sam").get("/pipelines/policies/?days=90"))


def test_a_member_sees_only_their_teams_services(client_for, results):
    page = text(client_for("kim").get("/pipelines/policies/"))

    assert "App API" in page and "Checkout web" not in page


def test_a_lead_adds_a_policy_then_a_rule_and_bad_input_shows_on_the_form(client_for, org):
    lee = client_for("lee")

    bad = text(lee.post("/pipelines/policies/", {"form": "policy", "name": "Hygiene"}))
    assert "This field is required." in bad and not Policy.objects.exists()
    added = lee.post(
        "/pipelines/policies/", {"form": "policy", "name": "Hygiene", "text": "Be tidy."}
    )
    assert added.status_code == 302 and added["Location"] == "/pipelines/policies/hygiene/"

    rule = {"form": "rule", "kind": "default_branch_red_hours", "window_days": 30}
    not_json = text(lee.post(added["Location"], {**rule, "params": "{hours: 8}"}))
    assert "Not JSON" in not_json
    wrong_type = text(lee.post(added["Location"], {**rule, "params": '{"hours": "8"}'}))
    assert "hours: Input should be a valid number" in wrong_type
    assert not Policy.objects.get().rules.exists()
    good = lee.post(added["Location"], {**rule, "params": '{"hours": 8}', "window_days": 14})
    assert good.status_code == 302
    rule = Policy.objects.get().rules.get()
    assert (rule.key, rule.params, rule.window_days) == (
        "hygiene-default-branch-red-hours",
        {"hours": 8.0},
        14,
    )


def test_a_lead_edits_the_text_and_the_versions_show(client_for, org, policy):
    lee = client_for("lee")

    lee.post(
        "/pipelines/policies/safe-delivery/",
        {"form": "text", "name": policy.name, "text": "Version two."},
    )
    page = text(client_for("val").get("/pipelines/policies/safe-delivery/"))

    assert "Version two." in page and "Version 2" in page and "Version 1" in page
    assert "in force" in page and "Edit the text" not in page


def test_a_lead_edits_a_rule_on_the_policy_page(client_for, org, policy):
    client_for("lee").post("/pipelines/policies/safe-delivery/", {
        "form": "rule-default-branch-red-hours",
        "rule-default-branch-red-hours-params": '{"hours": 12}',
        "rule-default-branch-red-hours-window_days": 7,
    })  # fmt: skip

    rule = rule_of(policy, "default_branch_red_hours")
    assert (rule.params, rule.window_days, rule.is_active) == ({"hours": 12.0}, 7, False)


def test_only_leads_post_policy_forms(client_for, org, policy):
    assert client_for("mo").post("/pipelines/policies/", {"form": "evaluate"}).status_code == 403
    assert (
        client_for("sam")
        .post("/pipelines/policies/safe-delivery/", {"form": "text", "name": "x", "text": "y"})
        .status_code
        == 403
    )
    assert policy.versions.count() == 1


def test_a_lead_evaluates_every_rule_now(client_for, org, policy, service):
    response = client_for("lee").post("/pipelines/policies/", {"form": "evaluate"})

    assert response.status_code == 302
    assert RuleResult.objects.filter(service=service).count() == 5


def test_a_service_scorecard_shows_evidence_with_links(client_for, org, policy, service, delivery):
    run = delivery.run(service, branch="feature/x", jobs=["build"], name="ci feature")
    deployment = delivery.deploy(service, run=run, ref="feature/x")
    services.policies_evaluate()

    page = text(client_for("val").get("/pipelines/compliance/cart-api/"))

    assert "deployed from feature/x, not main" in page
    assert f"no security scan ran on {run.sha[:10]}" in page
    assert deployment.url in page and run.url in page
    assert "/runs/?service=cart-api" in page and "/deployments/?service=cart-api" in page
    assert "Request the waiver" not in page, "viewers read only"


def test_other_teams_scorecards_are_404(client_for, org, policy, service):
    assert client_for("kim").get("/pipelines/compliance/cart-api/").status_code == 404


def test_a_member_requests_a_waiver_on_the_scorecard(client_for, org, policy, service):
    mo = client_for("mo")
    rule = "security-scan-on-deployed-commit"

    bad = text(mo.post("/pipelines/compliance/cart-api/", {
        "rule": rule, "reason": "Licence", "expires_on": (TODAY - timedelta(days=1)).isoformat(),
    }))  # fmt: skip
    assert "Give a day after today." in bad and not Waiver.objects.exists()
    good = mo.post("/pipelines/compliance/cart-api/", {
        "rule": rule, "reason": "Licence", "expires_on": (TODAY + timedelta(days=7)).isoformat(),
    })  # fmt: skip
    assert good.status_code == 302
    assert Waiver.objects.get().status == "requested"
    assert "awaiting a decision" in text(mo.get("/pipelines/compliance/cart-api/"))
    assert client_for("val").post("/pipelines/compliance/cart-api/", {}).status_code == 403


def test_the_waiver_queue_grants_refuses_and_flags_expired(
    client_for, org, policy, service, frozen
):
    mo, lee = org.users["mo"], client_for("lee")
    ask = lambda rule, days: services.waiver_request(  # noqa: E731
        actor=mo, rule=rule_of(policy, rule), service=service, reason=f"for {rule}",
        expires_on=TODAY + timedelta(days=days),
    )  # fmt: skip
    granted, refused = ask("approval_for_tier", 2), ask("deployment_carries_changes", 30)

    queue = text(lee.get("/pipelines/waivers/"))
    assert ">Grant</button>" in queue and "for approval_for_tier" in queue
    assert ">Grant</button>" not in text(client_for("val").get("/pipelines/waivers/"))

    lee.post(f"/pipelines/waivers/{granted.pk}/decide/", {"decision": "grant"})
    no_comment = lee.post(
        f"/pipelines/waivers/{refused.pk}/decide/", {"decision": "refuse"}, follow=True
    )
    assert "A refusal needs a comment." in text(no_comment)
    lee.post(
        f"/pipelines/waivers/{refused.pk}/decide/", {"decision": "refuse", "comment": "Fix it"}
    )
    assert dict(Waiver.objects.values_list("pk", "status")) == {
        granted.pk: "granted",
        refused.pk: "refused",
    }
    twice = lee.post(
        f"/pipelines/waivers/{granted.pk}/decide/",
        {"decision": "refuse", "comment": "x"},
        follow=True,
    )
    assert "already granted" in text(twice)
    assert (
        client_for("mo")
        .post(f"/pipelines/waivers/{granted.pk}/decide/", {"decision": "grant"})
        .status_code
        == 403
    )

    frozen.move_to(NOW + timedelta(days=3))
    listed = text(lee.get("/pipelines/waivers/?status=granted"))
    assert "for approval_for_tier" in listed and ">expired<" in listed


def test_pages_and_the_compliance_api_read_in_a_fixed_number_of_queries(
    client_for, org, results, django_assert_max_num_queries
):
    from tests.factories import ServiceFactory

    for n in range(5):  # more services, more results: not more queries
        ServiceFactory(team=org.mobile, slug=f"extra-{n}")
    services.policies_evaluate()
    sam = client_for("sam")
    for path, most in [
        ("/pipelines/policies/", 12),
        ("/pipelines/policies/safe-delivery/", 10),
        ("/pipelines/compliance/cart-api/", 9),
        ("/pipelines/waivers/?status=", 4),
        ("/api/v1/compliance/", 8),
    ]:
        with django_assert_max_num_queries(most):
            assert sam.get(path).status_code == 200
