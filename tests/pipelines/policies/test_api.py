"""The policies API: who reads and writes what, bad input as 400 with field errors, the
compliance scorecard's numbers (hand-placed ``results``) and waivers' life cycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pipelines.models import Policy, PolicyRule, Waiver
from portal.models import Role, TokenScope
from tests.factories import MembershipFactory
from tests.pipelines.policies.conftest import NOW, TODAY

POLICY = "/api/v1/policies/safe-delivery/"
IN_TWO_WEEKS = (TODAY + timedelta(days=14)).isoformat()


def waiver_body(**overrides) -> dict:
    return {
        "rule": "security-scan-on-deployed-commit",
        "service": "cart-api",
        "reason": "Scanner licence renewal",
        "expires_on": IN_TWO_WEEKS,
        **overrides,
    }


# --- policies and rules ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["val", "kim", "sam", "lee"])
def test_everyone_signed_in_reads_policies_with_their_rules(org, policy, api_client_for, who):
    client = api_client_for(org.users[who])

    listed = client.get("/api/v1/policies/").json()["results"]
    detail = client.get(POLICY).json()

    assert [p["slug"] for p in listed] == ["safe-delivery"]
    assert detail["version"] == 1
    assert detail["text"] == "Production deployments are traceable, scanned and approved."
    assert len(detail["rules"]) == 5
    red = next(r for r in detail["rules"] if r["kind"] == "default_branch_red_hours")
    assert red == {"key": "default-branch-red-hours", "kind": "default_branch_red_hours",
                   "params": {"hours": 24.0}, "window_days": 30, "is_active": True}  # fmt: skip


def test_anonymous_callers_get_401(policy):
    for path in ["/api/v1/policies/", "/api/v1/compliance/", "/api/v1/waivers/", POLICY]:
        assert APIClient().get(path).status_code == 401


def test_a_lead_creates_a_policy_with_its_rules(org, api_client_for):
    response = api_client_for(org.users["lee"]).post(
        "/api/v1/policies/",
        {
            "name": "Release hygiene",
            "text": "Releases come from main or release branches.",
            "rules": [
                {"kind": "prod_from_default_branch", "params": {"also_allowed": ["release/*"]}},
                {"kind": "default_branch_red_hours", "params": {"hours": 8}, "window_days": 14},
            ],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["version"]) == ("release-hygiene", 1)
    assert [(r["key"], r["params"], r["window_days"]) for r in body["rules"]] == [
        ("release-hygiene-default-branch-red-hours", {"hours": 8.0}, 14),
        ("release-hygiene-prod-from-default-branch", {"also_allowed": ["release/*"]}, 30),
    ]


@pytest.mark.parametrize("who", ["mo", "val", "sam"])
def test_only_leads_write_policies_and_rules_and_before_the_body_is_read(
    org, policy, api_client_for, who
):
    client = api_client_for(org.users[who])

    assert client.post("/api/v1/policies/", {}).status_code == 403
    assert client.patch(POLICY, {"text": "Mine"}).status_code == 403
    assert client.post("/api/v1/policy-rules/", {}).status_code == 403
    assert client.patch("/api/v1/policy-rules/approval-for-tier/", {}).status_code == 403
    assert Policy.objects.get().versions.count() == 1


def test_new_text_makes_a_new_version(org, policy, api_client_for):
    lee = api_client_for(org.users["lee"])

    response = lee.patch(POLICY, {"text": "Scanned, approved and traceable: v2."})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2 and body["text"] == "Scanned, approved and traceable: v2."
    assert [(v["number"], v["created_by"]) for v in body["versions"]] == [(2, "lee"), (1, "lee")]
    assert lee.patch(POLICY, {"rules": []}).json() == {"rules": ["Read-only."]}


SAFE = {"policy": "safe-delivery"}
CARRIES = {**SAFE, "kind": "deployment_carries_changes"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({**SAFE, "kind": "coverage"}, {"kind": ['"coverage" is not a valid choice.']}),
        ({**SAFE, "kind": "default_branch_red_hours", "params": {"hours": "24"}},
         {"params": ["hours: Input should be a valid number"]}),
        ({**SAFE, "kind": "prod_from_default_branch", "params": {"also_allowed": "main"}},
         {"params": ["also_allowed: Input should be a valid list"]}),
        ({**CARRIES, "params": ["x"]},
         {"params": ['Expected a dictionary of items but got type "list".']}),
        ({**CARRIES, "window_days": "30"},
         {"window_days": ["A whole number is required (not text or true/false)."]}),
        ({**CARRIES, "key": "approval-for-tier"}, {"key": ["Another rule has this key."]}),
        ({**CARRIES, "policy": "nope"}, {"policy": ["Object with slug=nope does not exist."]}),
    ],
)  # fmt: skip
def test_bad_rules_are_400_with_field_errors(org, policy, api_client_for, body, errors):
    response = api_client_for(org.users["lee"]).post("/api/v1/policy-rules/", body)

    assert response.status_code == 400
    assert {k: v for k, v in response.json().items() if k != "detail"} == errors
    assert PolicyRule.objects.count() == 5


def test_a_policy_with_a_bad_rule_is_refused_whole(org, api_client_for):
    response = api_client_for(org.users["lee"]).post(
        "/api/v1/policies/",
        {"name": "Half", "text": "T", "rules": [
            {"kind": "deployment_carries_changes"},
            {"kind": "approval_for_tier", "params": {"max_tier": "1"}},
        ]},
    )  # fmt: skip

    assert response.status_code == 400
    assert response.json()["rules"] == [
        {},
        {"params": ["max_tier: Input should be a valid integer"]},
    ]
    assert not Policy.objects.exists()


def test_a_lead_tunes_a_rule_but_not_its_kind(org, policy, api_client_for):
    lee = api_client_for(org.users["lee"])
    path = "/api/v1/policy-rules/default-branch-red-hours/"

    tuned = lee.patch(path, {"params": {"hours": 12}, "window_days": 7, "is_active": False})
    assert tuned.status_code == 200, tuned.content
    assert (tuned.json()["params"], tuned.json()["window_days"]) == ({"hours": 12.0}, 7)
    assert lee.patch(path, {"kind": "approval_for_tier"}).json() == {"kind": ["Read-only."]}
    assert lee.get("/api/v1/policy-rules/?is_active=false").json()["count"] == 1
    assert lee.get("/api/v1/policy-rules/?policy=safe-delivery").json()["count"] == 5


# --- compliance --------------------------------------------------------------------------------


def test_the_organisations_compliance_with_teams_services_and_trend(org, results, api_client_for):
    body = api_client_for(org.users["sam"]).get("/api/v1/compliance/").json()

    assert body["scope"] == {"kind": "organisation", "slug": None, "days": 30}
    # 9 of 12 applicable pairs comply (conftest ``results``)
    assert (
        body["summary"]["compliant"],
        body["summary"]["applicable"],
        body["summary"]["percent"],
    ) == (9, 12, 75.0)
    assert body["organisation"] == body["summary"]
    assert {t["team"]: t["percent"] for t in body["teams"]} == {"checkout": 57.1, "mobile": 100.0}
    cart = next(s for s in body["services"] if s["service"] == "cart-api")
    assert cart["compliance"]["percent"] == 75.0
    scan = next(r for r in cart["rules"] if r["kind"] == "security_scan_on_deployed_commit")
    assert (scan["outcome"], scan["day"], scan["evidence"]) == (
        "fail", TODAY.isoformat(), [{"what": "deployed from feature/x, not main"}]
    )  # fmt: skip
    waived = next(r for r in cart["rules"] if r["outcome"] == "waived")
    assert waived["waiver"] == {
        "id": results["waiver"].pk, "status": "granted",
        "expires_on": (TODAY + timedelta(days=10)).isoformat(), "expired": False,
        "reason": "Migrating scanners",
    }  # fmt: skip
    assert len(body["trend"]) == 30
    # today 9/11 (yesterday's web r1 row is not today's), yesterday 1/2
    assert [(p["compliant"], p["applicable"]) for p in body["trend"][-2:]] == [(1, 2), (9, 11)]


def test_a_team_or_a_service_scope_keeps_the_organisation_for_comparison(
    org, results, api_client_for
):
    client = api_client_for(org.users["lee"])

    team = client.get("/api/v1/compliance/?team=checkout&days=90").json()
    service = client.get("/api/v1/compliance/?service=cart-api").json()

    assert (team["summary"]["percent"], team["organisation"]["percent"]) == (57.1, 75.0)
    assert [s["service"] for s in team["services"]] == ["cart-api", "checkout-web"]
    assert len(team["trend"]) == 90
    assert (service["summary"]["compliant"], service["summary"]["applicable"]) == (3, 4)


def test_members_see_compliance_of_their_teams_only(org, results, api_client_for):
    kim = api_client_for(org.users["kim"])

    body = kim.get("/api/v1/compliance/").json()

    assert [s["service"] for s in body["services"]] == ["app-api"]
    assert body["organisation"]["percent"] == 100.0
    assert kim.get("/api/v1/compliance/?service=cart-api").json() == {
        "service": ["No such service."]
    }


@pytest.mark.parametrize(
    "query", ["days=0", "days=366", "days=x", "service=cart-api&team=checkout", "team=nope"]
)
def test_bad_compliance_queries_are_400(org, results, api_client_for, query):
    assert api_client_for(org.users["lee"]).get(f"/api/v1/compliance/?{query}").status_code == 400


# --- waivers -----------------------------------------------------------------------------------


def test_a_member_requests_a_waiver_for_their_teams_service(org, policy, service, api_client_for):
    response = api_client_for(org.users["mo"]).post("/api/v1/waivers/", waiver_body())

    assert response.status_code == 201, response.content
    body = response.json()
    expected = {
        "rule": "security-scan-on-deployed-commit", "policy": "safe-delivery",
        "service": "cart-api", "team": "checkout", "status": "requested", "expired": False,
        "active": False, "requested_by": "mo",
    }  # fmt: skip
    assert {k: body[k] for k in expected} == expected


def test_a_service_you_cannot_see_is_404_and_one_you_only_read_is_403(
    org, policy, service, api_client_for
):
    kim = org.users["kim"]  # a member of mobile
    assert api_client_for(kim).post("/api/v1/waivers/", waiver_body()).status_code == 404
    MembershipFactory(user=kim, team=org.checkout, role=Role.VIEWER)  # now reads checkout
    kim = type(kim).objects.get(pk=kim.pk)  # a fresh user: access is cached per request user
    assert api_client_for(kim).post("/api/v1/waivers/", waiver_body()).status_code == 403
    assert not Waiver.objects.exists()


@pytest.mark.parametrize("who", ["val", "sam"])
def test_viewers_and_stakeholders_only_read_waivers(org, policy, service, api_client_for, who):
    client = api_client_for(org.users[who])

    assert client.post("/api/v1/waivers/", {}).status_code == 403
    assert client.get("/api/v1/waivers/").status_code == 200


def test_a_read_only_token_cannot_request(org, policy, service):
    token = Token.objects.create(user=org.users["mo"])
    TokenScope.objects.create(token=token, read_only=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert client.post("/api/v1/waivers/", waiver_body(), format="json").status_code == 403


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"expires_on": None}, {"expires_on": ["This field may not be null."]}),
        ({"expires_on": (TODAY - timedelta(days=1)).isoformat()},
         {"expires_on": ["Give a day after today."]}),
        ({"expires_on": (TODAY + timedelta(days=366)).isoformat()},
         {"expires_on": ["At most 365 days from today."]}),
        ({"expires_on": "soon"},
         {"expires_on": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]}),
        ({"reason": 5}, {"reason": ["Text is required."]}),
        ({"rule": "nope"}, {"rule": ["Object with key=nope does not exist."]}),
        ({"until": "2027-04-01"}, {"until": ["Unknown field."]}),
    ],
)  # fmt: skip
def test_bad_waiver_requests_are_400_with_field_errors(
    org, policy, service, api_client_for, overrides, errors
):
    response = api_client_for(org.users["mo"]).post("/api/v1/waivers/", waiver_body(**overrides))

    assert response.status_code == 400
    assert {k: v for k, v in response.json().items() if k != "detail"} == errors
    assert not Waiver.objects.exists()


def test_a_waiver_without_expiry_is_400(org, policy, service, api_client_for):
    body = waiver_body()
    del body["expires_on"]

    response = api_client_for(org.users["mo"]).post("/api/v1/waivers/", body)

    assert (response.status_code, response.json()) == (
        400,
        {"expires_on": ["This field is required."]},
    )


def test_a_lead_grants_once_and_refusing_needs_a_comment(org, policy, service, api_client_for):
    waiver_id = api_client_for(org.users["mo"]).post("/api/v1/waivers/", waiver_body()).json()["id"]
    lee, mo = api_client_for(org.users["lee"]), api_client_for(org.users["mo"])
    path = f"/api/v1/waivers/{waiver_id}/"

    assert mo.post(path + "grant/", {}).status_code == 403
    refused = lee.post(path + "refuse/", {})
    assert (refused.status_code, refused.json()["comment"]) == (400, ["A refusal needs a comment."])
    granted = lee.post(path + "grant/", {"comment": "Until the new scanner is in"})
    assert granted.status_code == 200
    assert (granted.json()["status"], granted.json()["active"], granted.json()["decided_by"]) == (
        "granted", True, "lee"
    )  # fmt: skip
    assert lee.post(path + "grant/", {}).status_code == 409
    assert lee.post(path + "refuse/", {"comment": "changed my mind"}).status_code == 409


def test_a_refused_waiver_cannot_be_granted(org, policy, service, api_client_for):
    waiver_id = api_client_for(org.users["mo"]).post("/api/v1/waivers/", waiver_body()).json()["id"]
    lee = api_client_for(org.users["lee"])

    lee.post(f"/api/v1/waivers/{waiver_id}/refuse/", {"comment": "Fix the pipeline instead"})

    assert lee.post(f"/api/v1/waivers/{waiver_id}/grant/", {}).status_code == 409
    assert Waiver.objects.get().status == "refused"


def test_waivers_are_listed_with_status_and_expired_flag_and_filters(
    org, policy, service, api_client_for, frozen
):
    mo, lee = api_client_for(org.users["mo"]), api_client_for(org.users["lee"])
    short = mo.post(
        "/api/v1/waivers/", waiver_body(expires_on=(TODAY + timedelta(days=2)).isoformat())
    )
    lee.post(f"/api/v1/waivers/{short.json()['id']}/grant/", {})
    mo.post("/api/v1/waivers/", waiver_body(rule="approval-for-tier"))
    frozen.move_to(NOW + timedelta(days=5))  # the granted one expired 3 days ago

    listed = lee.get("/api/v1/waivers/").json()["results"]
    expired = lee.get("/api/v1/waivers/?expired=true").json()["results"]

    assert sorted((w["rule"], w["status"], w["expired"]) for w in listed) == [
        ("approval-for-tier", "requested", False),
        ("security-scan-on-deployed-commit", "granted", True),
    ]
    assert [w["rule"] for w in expired] == ["security-scan-on-deployed-commit"]
    assert lee.get("/api/v1/waivers/?status=requested").json()["count"] == 1
    assert lee.get("/api/v1/waivers/?team=mobile").json()["count"] == 0
    assert lee.get("/api/v1/waivers/?service=cart-api").json()["count"] == 2
    assert lee.get("/api/v1/waivers/?expired=maybe").status_code == 400


def test_other_teams_waivers_are_absent_for_members(org, policy, service, api_client_for):
    waiver_id = api_client_for(org.users["mo"]).post("/api/v1/waivers/", waiver_body()).json()["id"]
    kim = api_client_for(org.users["kim"])

    assert kim.get("/api/v1/waivers/").json()["results"] == []
    assert kim.get(f"/api/v1/waivers/{waiver_id}/").status_code == 404
