"""The request's workflow through the services: intake, triage, start, delivery; transitions
out of order are refused with a 409 naming the state; bad input is a 400 with field errors;
refusals save nothing; every step is in the audit log; numbers never collide."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from pipelines.change_requests import services
from pipelines.models import ChangeRequest
from portal.exceptions import ApplicationError, ConflictError
from portal.models import AuditEvent
from tests.pipelines.change_requests.conftest import at

Status = ChangeRequest.Status


def _audit_actions(request) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="pipelines.changerequest", object_id=str(request.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_it_goes_from_intake_to_delivered(org, raise_request, accept, commit, deploy):
    request = raise_request()
    assert (request.key, request.status, request.created_by) == ("CR-1", "intake", org.users["mo"])

    accept(request, hours=1, comment="Worth it")
    request.refresh_from_db()
    assert (request.status, request.accepted_at, request.triage_comment) == (
        "accepted", at(1), "Worth it"
    )  # fmt: skip

    services.cr_start(actor=org.users["mo"], request=request)
    change = commit("a1" * 20, "CR-1: invoices as CSV", hours=2)
    production = deploy("production", "p1", hours=5, changes=[change])
    services.cr_refresh_delivery()

    request.refresh_from_db()
    assert (request.status, request.delivered_at, request.delivered_by) == (
        "delivered", at(5), production
    )  # fmt: skip
    assert _audit_actions(request) == [
        "change_request.create",
        "change_request.accept",
        "change_request.start",
        "change_request.deliver",
    ]


def test_numbers_follow_the_highest_so_far(org, raise_request):
    first, second = raise_request("One"), raise_request("Two", by="kim", team=org.mobile)
    ChangeRequest.objects.filter(pk=second.pk).update(number=41)

    assert (first.number, raise_request("Three").key) == (1, "CR-42")


@pytest.mark.django_db(transaction=True)
def test_requests_raised_at_once_get_distinct_numbers(org):
    """Eight threads, five requests each, each in its own transaction and connection: the
    advisory lock serialises the max + 1, so no number is taken twice and none fails."""
    errors: list[Exception] = []

    def raise_five():
        try:
            for n in range(5):
                services.cr_create(
                    actor=org.users["mo"], team=org.checkout, title=f"Req {n}", requester="ACME"
                )
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=raise_five) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(ChangeRequest.objects.values_list("number", flat=True)) == list(range(1, 41))


def test_a_rejection_needs_a_reason_and_saves_nothing_without_one(org, raise_request):
    request = raise_request()

    with pytest.raises(ApplicationError) as refused:
        services.cr_triage(actor=org.users["lee"], request=request, decision="reject", comment=" ")

    assert refused.value.status_code == 400 and "comment" in refused.value.extra
    request.refresh_from_db()
    assert request.status == "intake" and _audit_actions(request) == ["change_request.create"]

    services.cr_triage(
        actor=org.users["lee"], request=request, decision="reject", comment="Out of scope"
    )
    request.refresh_from_db()
    assert (request.status, request.triage_comment, request.accepted_at) == (
        "rejected", "Out of scope", None
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "step", "words"),
    [
        (Status.ACCEPTED, "accept", "CR-1 is accepted: only requests in intake"),
        (Status.REJECTED, "accept", "CR-1 is rejected"),
        (Status.DELIVERED, "reject", "CR-1 is delivered"),
        (Status.INTAKE, "start", "CR-1 is intake: a lead accepts it first"),
        (Status.IN_PROGRESS, "start", "it has started already"),
        (Status.DELIVERED, "start", "only accepted requests are started"),
        (Status.DELIVERED, "update", "a delivered request is not edited"),
    ],
)
def test_transitions_out_of_order_are_409s_that_change_nothing(
    org, raise_request, state, step, words
):
    request = raise_request()
    ChangeRequest.objects.filter(pk=request.pk).update(status=state)
    request.refresh_from_db()
    lee = org.users["lee"]
    calls = {
        "accept": lambda: services.cr_triage(actor=lee, request=request, decision="accept"),
        "reject": lambda: services.cr_triage(
            actor=lee, request=request, decision="reject", comment="No"
        ),
        "start": lambda: services.cr_start(actor=lee, request=request),
        "update": lambda: services.cr_update(actor=lee, request=request, title="New"),
    }

    with pytest.raises(ConflictError) as refused:
        calls[step]()

    assert refused.value.status_code == 409
    assert words in refused.value.message
    request.refresh_from_db()
    assert (request.status, request.title) == (state, "Export invoices as CSV")
    assert _audit_actions(request) == ["change_request.create"]


def test_bad_input_names_the_fields_and_saves_nothing(org):
    with pytest.raises(ApplicationError) as blank:
        services.cr_create(actor=org.users["mo"], team=org.checkout, title=" ", requester="")
    with pytest.raises(ApplicationError) as wrong:
        services.cr_create(
            actor=org.users["mo"], team=org.checkout, title="x", requester="y", value="huge",
            urgency="yesterday",
        )  # fmt: skip

    assert set(blank.value.extra) == {"title", "requester"}
    assert set(wrong.value.extra) == {"value", "urgency"}
    assert not ChangeRequest.objects.exists()
    assert not AuditEvent.objects.filter(object_type="pipelines.changerequest").exists()


@pytest.mark.parametrize(
    ("who", "team", "allowed"),
    [("mo", "checkout", True), ("lee", "mobile", True), ("ada", "mobile", True),
     ("val", "checkout", False), ("kim", "checkout", False), ("sam", "checkout", False)],
)  # fmt: skip
def test_members_raise_requests_for_their_teams_and_leads_for_any(org, who, team, allowed):
    def create():
        return services.cr_create(
            actor=org.users[who], team=getattr(org, team), title="T", requester="R"
        )

    if allowed:
        assert create().status == "intake"
    else:
        with pytest.raises(PermissionDenied):
            create()
        assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize("who", ["mo", "val", "kim", "sam"])
def test_only_leads_triage(org, raise_request, who):
    request = raise_request()

    with pytest.raises(PermissionDenied):
        services.cr_triage(actor=org.users[who], request=request, decision="accept")


def test_edits_change_only_the_editable_fields(org, raise_request):
    request = raise_request()

    services.cr_update(
        actor=org.users["mo"], request=request, title="  CSV and PDF ", urgency="high"
    )
    with pytest.raises(ApplicationError) as refused:
        services.cr_update(actor=org.users["mo"], request=request, team=org.mobile)

    request.refresh_from_db()
    assert (request.title, request.urgency, request.team) == ("CSV and PDF", "high", org.checkout)
    assert refused.value.extra == {"team": ["Read-only."]}
