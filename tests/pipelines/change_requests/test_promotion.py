"""The promotion view on hand-made deployments: what runs where, the changes waiting between
pre-production and production, when production last changed; visibility; the pages."""

from __future__ import annotations

import pytest

from pipelines.models import PipelineRun
from pipelines.promotion.selectors import promotion_overview, service_promotion
from pipelines.services import push_source
from portal.models import Service
from tests.factories import ServiceFactory
from tests.pipelines.change_requests.conftest import at


@pytest.fixture
def world(org, service, bff, envs, commit, deploy):
    """Hours after T0. Cart API's changes c1 (h0), c2 (h1), c3 (h2), c4 (h3):

    dev         d1 h1 [c1]            d2 h4 [c2 c3 c4] (run "Deploy to dev")
    staging     s1 h2 [c1 c2]         s2 h5 [c3]        s3 h6 FAILED [c4]   s4 h8 [c1] (redeploy)
    production  p1 h3 [c1]            p2 h7 FAILED [c2 c3]

    Production last changed at h3 (p1; the failed p2 does not count). Pre-production is
    staging. Deployed to staging after h3 and successful: s2 [c3] and s4 [c1]; c1 is in
    production, so 1 change waits (c3), since h5. c2 reached staging before p1: not counted.
    Mobile BFF: only production (m1 at h1), so nothing waits. Quiet (Checkout): no deployments.
    """
    c1, c2, c3, c4 = (commit(f"c{n}", f"change {n}", hours=n - 1) for n in range(1, 5))
    deploy("dev", "d1", hours=1, changes=[c1])
    d2 = deploy("dev", "d2", hours=4, changes=[c2, c3, c4], ref="main")
    d2.run = PipelineRun.objects.create(
        source=push_source(), external_id="r2", status="success", service=service,
        name="Deploy to dev", created_at=at(3.9),
    )  # fmt: skip
    d2.save()
    deploy("staging", "s1", hours=2, changes=[c1, c2])
    deploy("staging", "s2", hours=5, changes=[c3])
    deploy("staging", "s3", hours=6, changes=[c4], status="failure")
    deploy("staging", "s4", hours=8, changes=[c1])
    deploy("production", "p1", hours=3, changes=[c1])
    deploy("production", "p2", hours=7, changes=[c2, c3], status="failure")
    deploy("production", "m1", hours=1, on=bff, sha="b1")
    ServiceFactory(team=org.checkout, name="Quiet", slug="quiet")


def test_each_environment_shows_what_runs_there_now(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        promotion = promotion_overview(services=Service.objects.all(), now=at(10))

    assert [e.slug for e in promotion.environments] == ["dev", "staging", "production"]
    cart, bff, quiet = promotion.services
    assert (cart.service.slug, bff.service.slug, quiet.service.slug) == (
        "cart-api", "mobile-bff", "quiet"
    )  # fmt: skip
    assert [(c.deployed.deployment.external_id, c.deployed.sha) for c in cart.cells] == [
        ("d2", "c4"),
        ("s4", "c1"),
        ("p1", "c1"),
    ]
    dev = cart.cells[0].deployed
    assert (dev.ref, dev.finished_at, dev.by, dev.age_seconds) == ("main", at(4), "Deploy to dev",
                                                                   6 * 3600)  # fmt: skip
    assert cart.cells[2].deployed.by == "Push API"  # no run: the source's name
    assert [c.deployed for c in quiet.cells] == [None, None, None]


def test_changes_wait_between_staging_and_production(world):
    cart, bff, quiet = promotion_overview(services=Service.objects.all(), now=at(10)).services

    assert (cart.pre_production.slug, cart.changes_waiting, cart.waiting_since) == (
        "staging", 1, at(5)
    )  # fmt: skip
    assert (cart.production.deployment.external_id, cart.production.finished_at) == ("p1", at(3))
    assert (bff.pre_production, bff.changes_waiting, bff.production.finished_at) == (None, 0, at(1))
    assert (quiet.production, quiet.pre_production, quiet.changes_waiting) == (None, None, 0)


def test_everything_waits_when_production_was_never_reached(service, commit, deploy):
    c1, c2 = commit("c1", hours=0), commit("c2", hours=1)
    deploy("dev", "d1", hours=1, changes=[c1, c2])
    deploy("staging", "s1", hours=2, changes=[c1])
    deploy("staging", "s2", hours=3, changes=[c2])

    [row] = service_promotion(service=service, now=at(4)).services

    assert (row.pre_production.slug, row.changes_waiting, row.waiting_since) == (
        "staging", 2, at(2)
    )  # fmt: skip
    assert row.production is None


def test_the_api_answers_for_visible_services_only(world, org, api_client_for):
    mo, kim = api_client_for(org.users["mo"]), api_client_for(org.users["kim"])

    response = mo.get("/api/v1/services/cart-api/promotion/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(e["environment"], e["deployed"]["deployment"]) for e in body["environments"]] == [
        ("dev", "d2"),
        ("staging", "s4"),
        ("production", "p1"),
    ]
    assert (body["pre_production"], body["changes_waiting"], body["production_environment"]) == (
        "staging", 1, "production"
    )  # fmt: skip
    assert body["production_changed_at"] == "2027-03-01T12:00:00Z"
    assert kim.get("/api/v1/services/cart-api/promotion/").status_code == 404
    assert kim.get("/api/v1/services/nope/promotion/").status_code == 404
    assert api_client_for(None).get("/api/v1/services/cart-api/promotion/").status_code == 401
    quiet = mo.get("/api/v1/services/quiet/promotion/").json()
    assert quiet["production_changed_at"] is None
    assert [e["deployed"] for e in quiet["environments"]] == [None, None, None]


def test_the_pages_show_services_across_environments(world, client_for):
    lee, kim = client_for("lee"), client_for("kim")

    overview = lee.get("/pipelines/promotion/")
    one_team = lee.get("/pipelines/promotion/?team=mobile")
    page = lee.get("/services/cart-api/promotion/")
    card = lee.get("/services/cart-api/promotion/", HTTP_HX_REQUEST="true")

    assert overview.status_code == 200
    assert b"Cart API" in overview.content and b"Mobile BFF" in overview.content
    assert b"1</strong> change" in overview.content
    assert b"Mobile BFF" in one_team.content and b"Cart API" not in one_team.content
    assert page.status_code == 200 and b"Deploy to dev" in page.content
    assert b"<html" not in card.content and b"Deploy to dev" in card.content
    assert kim.get("/services/cart-api/promotion/").status_code == 404
    assert b"Cart API" not in kim.get("/pipelines/promotion/").content
    assert b"promotion/" in lee.get("/services/cart-api/").content  # the service page loads it


def test_the_overview_says_what_to_do_when_empty(db, client_for, org):
    response = client_for("mo").get("/pipelines/promotion/")

    assert response.status_code == 200
    assert b"No environments yet" in response.content or b"No services" in response.content
