"""The delivery refresh: an accepted or in-progress request becomes delivered at the finish of
the earliest successful production deployment carrying it; staging and failed production
deployments do not count; intake and rejected requests wait; running it again changes nothing."""

from __future__ import annotations

import pytest

from pipelines.change_requests import services
from pipelines.models import ChangeRequest
from pipelines.tasks import change_requests_refresh_task
from portal.models import AuditEvent
from tests.pipelines.change_requests.conftest import at


@pytest.fixture
def accepted(raise_request, accept):
    request = raise_request()
    accept(request, hours=1)
    return request


def _state(request) -> tuple:
    request.refresh_from_db()
    return request.status, request.delivered_at, request.delivered_by_id


def test_the_earliest_successful_production_deployment_delivers_it(accepted, commit, deploy):
    change = commit("c1", "CR-1 export", hours=2)
    deploy("production", "later", hours=9, changes=[change])
    earliest = deploy("production", "earlier", hours=6, changes=[change])

    assert [r.key for r in services.cr_refresh_delivery()] == ["CR-1"]
    assert _state(accepted) == ("delivered", at(6), earliest.pk)


def test_staging_and_failed_production_deployments_do_not_deliver(accepted, commit, deploy):
    change = commit("c1", "CR-1 export", hours=2)
    deploy("staging", "s1", hours=3, changes=[change])
    deploy("production", "failed", hours=4, changes=[change], status="failure")
    deploy("production", "running", hours=4.5, ref="CR-1", status="running")

    assert services.cr_refresh_delivery() == []
    assert _state(accepted) == ("accepted", None, None)

    good = deploy("production", "good", hours=7, changes=[change])
    services.cr_refresh_delivery()
    assert _state(accepted) == ("delivered", at(7), good.pk)


def test_it_is_idempotent(accepted, commit, deploy):
    change = commit("c1", "CR-1 export", hours=2)
    first = deploy("production", "p1", hours=5, changes=[change])
    services.cr_refresh_delivery()
    # An earlier deployment arriving late does not move a delivered request.
    deploy("production", "p0", hours=4, ref="CR-1")

    assert services.cr_refresh_delivery() == []
    assert change_requests_refresh_task() == 0
    assert _state(accepted) == ("delivered", at(5), first.pk)
    assert AuditEvent.objects.filter(action="change_request.deliver").count() == 1


def test_requests_in_intake_or_rejected_wait(org, raise_request, commit, deploy, accept):
    waiting = raise_request("Waiting")
    rejected = raise_request("Rejected")
    services.cr_triage(
        actor=org.users["lee"], request=rejected, decision="reject", comment="No budget"
    )
    deploy("production", "p1", hours=5, ref="release CR-1 CR-2")

    services.cr_refresh_delivery()
    assert [_state(r)[0] for r in (waiting, rejected)] == ["intake", "rejected"]

    # Accepting a request production already carries delivers it at once; its lead time is 0.
    accept(waiting, hours=8)
    assert _state(waiting) == ("delivered", at(5), waiting.delivered_by_id)
    from pipelines.change_requests.selectors import customer_lead_time

    assert customer_lead_time(waiting) == 0


def test_in_progress_requests_are_delivered_too(org, accepted, deploy):
    services.cr_start(actor=org.users["mo"], request=accepted)
    deploy("production", "p1", hours=3, ref="deploy cr-1")

    services.cr_refresh_delivery()

    assert _state(accepted)[0] == "delivered"


def test_a_production_deployment_linked_by_hand_delivers_at_once(org, accepted, deploy):
    shipped = deploy("production", "p1", hours=3, ref="main")

    services.cr_link(actor=org.users["mo"], request=accepted, deployment=shipped)

    assert _state(accepted) == ("delivered", at(3), shipped.pk)


def test_only_the_named_requests_are_refreshed(raise_request, accept, deploy):
    one, two = raise_request("One"), raise_request("Two")
    accept(one, hours=1)
    accept(two, hours=1)
    deploy("production", "p1", hours=3, ref="CR-1 CR-2")

    services.cr_refresh_delivery(numbers=[2])

    assert ChangeRequest.objects.get(pk=one.pk).status == "accepted"
    assert ChangeRequest.objects.get(pk=two.pk).status == "delivered"


def test_pushing_a_deployment_queues_the_refresh(
    org, service, envs, api_client_for, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(change_requests_refresh_task, "delay", lambda: sent.append(1))

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(org.users["mo"]).post(
            "/api/v1/deployments/",
            {"service": "cart-api", "external_id": "d1", "environment": "production",
             "status": "success", "started_at": "2027-03-01T10:00:00Z",
             "finished_at": "2027-03-01T10:05:00Z", "sha": "abc"},
        )  # fmt: skip
        # A second write while the first refresh is queued and not started queues nothing.
        services.cr_refresh_queue()

    assert response.status_code == 201, response.content
    assert sent == [1]
    services.cr_refresh_taken()
    with django_capture_on_commit_callbacks(execute=True):
        services.cr_refresh_queue()
    assert sent == [1, 1]
