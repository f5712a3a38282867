"""The incident workflow through the services: opened, triaged, updated, acknowledged,
mitigated, resolved and reopened, each step on the timeline with who and when and in the audit
log; steps out of order are 409s naming the state; bad moments and input are 400s with field
errors; refusals change nothing; two responders at once acknowledge it once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipelines.incidents import selectors, services
from pipelines.models import CISource, Incident, IncidentEvent
from portal.exceptions import ApplicationError, ConflictError
from portal.models import AuditEvent
from reporting.metrics.dora import Window
from reporting.selectors import RollupScope, dora_totals
from tests.pipelines.incidents.conftest import T0, at


def _kinds(incident) -> list[tuple[str, str]]:
    return [
        (e.kind, e.actor.username if e.actor else "")
        for e in IncidentEvent.objects.filter(incident=incident).order_by("at", "id")
    ]


def _audit(incident) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="pipelines.incident", object_id=str(incident.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_it_goes_from_opened_to_resolved_with_a_timeline(org, incident):
    mo, lee = org.users["mo"], org.users["lee"]
    assert (incident.status, incident.source.kind, incident.severity) == (
        "triggered", CISource.Kind.PORTAL, ""
    )  # fmt: skip

    services.incident_triage(actor=lee, incident=incident, severity="sev2", commander=mo)
    services.incident_note(actor=mo, incident=incident, text="Payments gateway times out.")
    services.incident_acknowledge(actor=mo, incident=incident, at=at(4))
    services.incident_mitigate(actor=mo, incident=incident, at=at(20), note="Rolled back.")
    services.incident_resolve(actor=mo, incident=incident, at=at(95))

    incident.refresh_from_db()
    assert (incident.status, incident.severity, incident.commander) == ("resolved", "sev2", mo)
    assert (incident.acknowledged_at, incident.mitigated_at, incident.resolved_at) == (
        at(4), at(20), at(95)
    )  # fmt: skip
    assert _kinds(incident)[0] == ("opened", "mo")
    assert sorted(_kinds(incident)[1:]) == sorted([
        ("triaged", "lee"), ("update", "mo"), ("acknowledged", "mo"), ("mitigated", "mo"),
        ("resolved", "mo"),
    ])  # fmt: skip
    timeline = selectors.incident_timeline(incident)
    assert [m.kind for m in timeline][:1] == ["opened"]
    assert next(m for m in timeline if m.kind == "mitigated").text == "Rolled back."
    assert _audit(incident) == [
        "incident.open", "incident.triage", "incident.note", "incident.acknowledge",
        "incident.mitigate", "incident.resolve",
    ]  # fmt: skip


def test_the_portal_source_is_made_once(open_incident):
    first, second = open_incident("One"), open_incident("Two")

    assert first.source == second.source
    assert CISource.objects.filter(kind=CISource.Kind.PORTAL).count() == 1
    assert first.external_id != second.external_id


def test_mitigating_or_resolving_an_unacknowledged_incident_acknowledges_it(org, open_incident):
    mitigated, resolved = open_incident("One"), open_incident("Two")

    services.incident_mitigate(actor=org.users["mo"], incident=mitigated, at=at(7))
    services.incident_resolve(actor=org.users["mo"], incident=resolved, at=at(9))

    mitigated.refresh_from_db()
    resolved.refresh_from_db()
    assert (mitigated.acknowledged_at, resolved.acknowledged_at) == (at(7), at(9))


STEPS = {
    "acknowledge": services.incident_acknowledge,
    "mitigate": services.incident_mitigate,
    "resolve": services.incident_resolve,
    "reopen": services.incident_reopen,
}


@pytest.mark.parametrize(
    ("done", "step"),
    [
        (["acknowledge"], "acknowledge"),
        (["mitigate"], "acknowledge"),
        (["mitigate"], "mitigate"),
        (["resolve"], "acknowledge"),
        (["resolve"], "mitigate"),
        (["resolve"], "resolve"),
        ([], "reopen"),
        (["acknowledge"], "reopen"),
    ],
)
def test_a_step_out_of_order_is_a_409_naming_the_state(org, incident, done, step):
    for earlier in done:
        STEPS[earlier](actor=org.users["mo"], incident=incident)
    incident.refresh_from_db()
    before = (incident.status, incident.updated_at, IncidentEvent.objects.count())

    with pytest.raises(ConflictError) as refused:
        STEPS[step](actor=org.users["mo"], incident=incident)

    assert refused.value.status_code == 409
    assert incident.get_status_display().lower() in refused.value.message
    incident.refresh_from_db()
    assert (incident.status, incident.updated_at, IncidentEvent.objects.count()) == before


def test_reopening_clears_the_resolution_and_keeps_the_acknowledgement(org, incident):
    mo = org.users["mo"]
    services.incident_acknowledge(actor=mo, incident=incident, at=at(3))
    services.incident_mitigate(actor=mo, incident=incident, at=at(10))
    services.incident_resolve(actor=mo, incident=incident, at=at(30))

    services.incident_reopen(actor=mo, incident=incident, reason="Errors are back.")

    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_at) == ("acknowledged", at(3))
    assert (incident.mitigated_at, incident.resolved_at) == (None, None)
    assert IncidentEvent.objects.get(incident=incident, kind="reopened").text == "Errors are back."


@pytest.mark.parametrize(
    ("moment", "problem"),
    [(lambda: timezone.now() + timedelta(hours=1), "future"), (lambda: at(-1), "Not before")],
)
def test_a_moment_in_the_future_or_before_the_last_one_is_a_400(org, incident, moment, problem):
    with pytest.raises(ApplicationError) as refused:
        services.incident_acknowledge(actor=org.users["mo"], incident=incident, at=moment())

    assert problem in " ".join(refused.value.extra["at"]) + refused.value.message
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_a_resolution_is_not_before_the_mitigation(org, incident):
    services.incident_mitigate(actor=org.users["mo"], incident=incident, at=at(20))

    with pytest.raises(ApplicationError) as refused:
        services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(10))

    assert "at" in refused.value.extra


def test_triage_changes_what_is_given_and_nothing_writes_nothing(org, incident):
    lee = org.users["lee"]
    services.incident_triage(actor=lee, incident=incident, severity="sev3")
    services.incident_triage(actor=lee, incident=incident, owner_team=org.mobile)
    count = IncidentEvent.objects.count()

    services.incident_triage(actor=lee, incident=incident, severity="sev3")

    incident.refresh_from_db()
    assert (incident.severity, incident.owner_team, incident.commander) == (
        "sev3",
        org.mobile,
        None,
    )
    assert IncidentEvent.objects.count() == count
    texts = list(IncidentEvent.objects.filter(kind="triaged").values_list("text", flat=True))
    assert texts == ["Triaged: severity SEV3 (was untriaged).", "Triaged: owner team Mobile."]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"severity": "sev9"}, "severity"),
        ({"severity": ""}, "severity"),
        ({"commander": "val"}, "commander"),  # a viewer does not command
        ({"commander": "kim"}, "commander"),  # another team's member
    ],
)
def test_bad_triage_is_a_400_naming_the_field(org, incident, fields, field):
    fields = {k: org.users[v] if k == "commander" else v for k, v in fields.items()}

    with pytest.raises(ApplicationError) as refused:
        services.incident_triage(actor=org.users["lee"], incident=incident, **fields)

    assert field in refused.value.extra
    incident.refresh_from_db()
    assert (incident.severity, incident.commander) == ("", None)


def test_an_update_needs_words_and_a_title_is_required(org, incident, service):
    with pytest.raises(ApplicationError) as blank_note:
        services.incident_note(actor=org.users["mo"], incident=incident, text="  ")
    with pytest.raises(ApplicationError) as blank_title:
        services.incident_open(actor=org.users["mo"], service=service, title="")

    assert "text" in blank_note.value.extra and "title" in blank_title.value.extra
    assert Incident.objects.count() == 1


def test_an_opened_and_resolved_incident_counts_in_the_dora_numbers(org, incident, deploy):
    deploy("d1", minutes=-60)
    services.incident_resolve(actor=org.users["mo"], incident=incident, at=at(45))

    totals = dora_totals(
        scope=RollupScope.of_teams([org.checkout.pk]), window=Window(T0.date(), T0.date())
    )

    assert (totals.deployment_count, totals.failed_count) == (1, 1)
    assert list(totals.recovery_times) == [105 * 60]  # from the deployment's finish


@pytest.mark.django_db(transaction=True)
def test_two_responders_acknowledging_at_once_acknowledge_it_once(org, service):
    """Each in its own connection and transaction: the row lock makes the second wait and then
    see it acknowledged (409); one acknowledgement, one timeline entry."""
    incident = services.incident_open(actor=org.users["mo"], service=service, title="Down")
    barrier, outcomes = threading.Barrier(2), []

    def acknowledge(username: str) -> None:
        try:
            barrier.wait()
            services.incident_acknowledge(actor=org.users[username], incident=incident)
            outcomes.append("done")
        except ConflictError:
            outcomes.append("409")
        finally:
            connection.close()

    threads = [threading.Thread(target=acknowledge, args=(u,)) for u in ("mo", "lee")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["409", "done"]
    assert IncidentEvent.objects.filter(incident=incident, kind="acknowledged").count() == 1
