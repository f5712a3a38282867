"""Writes of change requests: intake, triage, start, edits, hand links, and the delivery refresh.

The workflow::

    intake --accept (lead)--> accepted --start (team)--> in_progress
       \\--reject (lead, with a reason)--> rejected
    accepted | in_progress --cr_refresh_delivery (production carries it)--> delivered

A transition asked for out of order is a ConflictError (409) naming the request's state; bad
input is an ApplicationError (400) with field errors; refusals save nothing. Every change is in
the audit log (``change_request.<verb>``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from pipelines.change_requests import linking
from pipelines.models import Change, ChangeRequest, Deployment
from portal.access import access_for
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError, ConflictError
from portal.models import Role, Team

Status = ChangeRequest.Status
OPEN = (Status.INTAKE, Status.ACCEPTED, Status.IN_PROGRESS)
AWAITING_DELIVERY = (Status.ACCEPTED, Status.IN_PROGRESS)
EDITABLE_FIELDS = {"title", "description", "value", "urgency"}
# pg_advisory_xact_lock(int, int) keys: (namespace, 0) serialises number allocation. The sync
# engine's locks use namespace 4021 (pipelines.sync.LOCK_NAMESPACE).
NUMBER_LOCK = (4_031, 0)
REFRESH_PENDING_KEY = "change-requests:refresh-pending"
REFRESH_PENDING_SECONDS = 300  # a lost task stops suppressing new ones after this


class NotLinked(ApplicationError):
    """Unlinking what is not linked by hand: 404."""

    status_code = 404


# --- who may ------------------------------------------------------------------------------


def may_raise(user, team_id: int) -> bool:
    """Leads for any team; the team's admins, leads and members for theirs (not viewers)."""
    return access_for(user).works_in(team_id)


def may_triage(user, team_id: int) -> bool:
    """Leads and admins, and the team's own leads and admins."""
    access = access_for(user)
    return access.is_lead or access.has_team_role(team_id, Role.ADMIN, Role.LEAD)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _locked(request: ChangeRequest) -> ChangeRequest:
    """The request's row, locked for this transaction: transitions are decided one at a time."""
    return ChangeRequest.objects.select_for_update().get(pk=request.pk)


def _conflict(request: ChangeRequest, wanted: str) -> ConflictError:
    state = request.get_status_display().lower()
    return ConflictError(
        f"{request.key} is {state}: {wanted}.",
        {"status": [f"The request is {state}."]},
    )


def _full_clean(request: ChangeRequest) -> None:
    try:
        request.full_clean(exclude=["number", "created_by", "team"])
    except ValidationError as error:
        raise ApplicationError("Check the request's fields.", error.message_dict) from None


def _audit(actor, action: str, request: ChangeRequest, before: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=f"change_request.{action}",
        instance=request,
        before=before,
        after=audit_snapshot(request),
    )


# --- intake and triage ----------------------------------------------------------------------


@transaction.atomic
def cr_create(
    *,
    actor,
    team: Team,
    title: str,
    requester: str,
    value: str = ChangeRequest.Value.MEDIUM,
    urgency: str = ChangeRequest.Urgency.NORMAL,
    description: str = "",
) -> ChangeRequest:
    """A new request in intake, numbered after the highest so far (``CR-<number>``).

    Numbers are allocated under a transaction-scoped advisory lock: two requests created at
    once would otherwise both read the same maximum, and one would fail on the unique number.
    """
    _require(may_raise(actor, team.pk), "Only the team's members and leads raise its requests.")
    errors = {
        name: ["This field is required."]
        for name, text in (("title", title), ("requester", requester))
        if not (text or "").strip()
    }
    if errors:
        raise ApplicationError("Say what is asked and by whom.", errors)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", NUMBER_LOCK)
    number = (ChangeRequest.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    request = ChangeRequest(
        number=number,
        team=team,
        title=title.strip(),
        requester=requester.strip(),
        value=value,
        urgency=urgency,
        description=description,
        created_by=actor,
    )
    _full_clean(request)
    request.save()
    _audit(actor, "create", request)
    return request


@transaction.atomic
def cr_triage(
    *,
    actor,
    request: ChangeRequest,
    decision: Literal["accept", "reject"],
    comment: str = "",
) -> ChangeRequest:
    """A lead accepts (the customer lead time starts: ``accepted_at``) or rejects it (a
    reason is required). Only requests in intake are triaged. An accepted request that
    production already carries is delivered at once."""
    _require(may_triage(actor, request.team_id), "Only leads triage change requests.")
    if decision not in ("accept", "reject"):
        raise ApplicationError("Accept or reject.", {"decision": ["Use accept or reject."]})
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise ApplicationError(
            "Say why the request is rejected.", {"comment": ["Required to reject."]}
        )
    request = _locked(request)
    if request.status != Status.INTAKE:
        raise _conflict(request, "only requests in intake are accepted or rejected")
    before = audit_snapshot(request)
    request.triage_comment = comment
    if decision == "accept":
        request.status, request.accepted_at = Status.ACCEPTED, timezone.now()
    else:
        request.status = Status.REJECTED
    request.save(update_fields=["status", "accepted_at", "triage_comment"])
    _audit(actor, decision, request, before)
    if decision == "accept":
        cr_refresh_delivery(numbers=[request.number])
        request.refresh_from_db()
    return request


@transaction.atomic
def cr_start(*, actor, request: ChangeRequest) -> ChangeRequest:
    """The team starts work on an accepted request."""
    _require(may_raise(actor, request.team_id), "Only the team's members and leads start it.")
    request = _locked(request)
    if request.status != Status.ACCEPTED:
        wanted = {
            Status.INTAKE: "a lead accepts it first",
            Status.IN_PROGRESS: "it has started already",
        }.get(request.status, "only accepted requests are started")
        raise _conflict(request, wanted)
    before = audit_snapshot(request)
    request.status = Status.IN_PROGRESS
    request.save(update_fields=["status"])
    _audit(actor, "start", request, before)
    return request


@transaction.atomic
def cr_update(*, actor, request: ChangeRequest, **fields: Any) -> ChangeRequest:
    """Title, description, value and urgency, until the request is delivered."""
    _require(may_raise(actor, request.team_id), "Only the team's members and leads edit it.")
    unknown = sorted(fields.keys() - EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("These cannot change here.", {f: ["Read-only."] for f in unknown})
    if "title" in fields and not (fields["title"] or "").strip():
        raise ApplicationError("Say what is asked.", {"title": ["This field is required."]})
    request = _locked(request)
    if request.status == Status.DELIVERED:
        raise _conflict(request, "a delivered request is not edited")
    before = audit_snapshot(request)
    for name, value in fields.items():
        setattr(request, name, value.strip() if name == "title" else value)
    _full_clean(request)
    request.save()
    _audit(actor, "update", request, before)
    return request


# --- hand links -----------------------------------------------------------------------------


def _one_record(change: Change | None, deployment: Deployment | None) -> None:
    if (change is None) == (deployment is None):
        raise ApplicationError(
            "Name one change or one deployment.",
            {"change": ["Give a change or a deployment."], "deployment": ["Not both."]},
        )


def _described(change: Change | None, deployment: Deployment | None) -> dict:
    if change is not None:
        return {"change": change.sha, "service": change.service.slug}
    return {
        "deployment": deployment.external_id,
        "service": deployment.service.slug,
        "environment": deployment.environment.slug,
    }


@transaction.atomic
def cr_link(
    *,
    actor,
    request: ChangeRequest,
    change: Change | None = None,
    deployment: Deployment | None = None,
) -> bool:
    """Link a change or a deployment by hand; True if new (linking twice changes nothing).
    A production deployment carrying an accepted request delivers it at once."""
    _require(may_raise(actor, request.team_id), "Only the team's members and leads link it.")
    _one_record(change, deployment)
    request = _locked(request)
    links = request.linked_changes if change is not None else request.linked_deployments
    record = change if change is not None else deployment
    if links.filter(pk=record.pk).exists():
        return False
    links.add(record)
    audit_record(
        actor=actor,
        action="change_request.link",
        instance=request,
        after=_described(change, deployment),
    )
    cr_refresh_delivery(numbers=[request.number])
    return True


@transaction.atomic
def cr_unlink(
    *,
    actor,
    request: ChangeRequest,
    change: Change | None = None,
    deployment: Deployment | None = None,
) -> None:
    """Remove a hand link. Links by key stay (edit the commit message or ref instead); a
    delivered request stays delivered."""
    _require(may_raise(actor, request.team_id), "Only the team's members and leads unlink it.")
    _one_record(change, deployment)
    request = _locked(request)
    links = request.linked_changes if change is not None else request.linked_deployments
    record = change if change is not None else deployment
    if not links.filter(pk=record.pk).exists():
        field = "change" if change is not None else "deployment"
        text = change.title if change is not None else deployment.ref
        pull_request = change.pull_request if change is not None else ""
        if request.number in linking.mentioned_numbers(text, pull_request):
            raise ConflictError(
                f"It mentions {request.key}: links by key are not removed by hand.",
                {field: ["Linked by its key, not by hand."]},
            )
        raise NotLinked(f"Not linked to {request.key} by hand.", {field: ["Not linked."]})
    links.remove(record)
    audit_record(
        actor=actor,
        action="change_request.unlink",
        instance=request,
        before=_described(change, deployment),
    )


# --- delivery -------------------------------------------------------------------------------


def cr_refresh_delivery(*, numbers: Iterable[int] | None = None) -> list[ChangeRequest]:
    """Mark accepted and in-progress requests delivered once a successful production
    deployment carries them (see ``linking``); returns those it delivered.

    ``delivered_at`` is the earliest such deployment's ``finished_at`` and ``delivered_by``
    that deployment. Idempotent: delivered requests are never looked at again. Each request is
    marked by a conditional UPDATE (still awaiting delivery), so two refreshes racing, or a
    refresh racing a triage, deliver it once. ``numbers`` limits it to some requests.
    """
    waiting = ChangeRequest.objects.filter(status__in=AWAITING_DELIVERY)
    if numbers is not None:
        waiting = waiting.filter(number__in=list(numbers))
    requests = list(waiting.only("pk", "number", "created_at"))
    first = linking.first_production_deployments(requests)
    delivered = []
    for request in requests:
        if request.pk not in first:
            continue
        finished_at, deployment_id = first[request.pk]
        with transaction.atomic():
            marked = ChangeRequest.objects.filter(
                pk=request.pk, status__in=AWAITING_DELIVERY
            ).update(
                status=Status.DELIVERED, delivered_at=finished_at, delivered_by_id=deployment_id
            )
            if marked:
                request = ChangeRequest.objects.get(pk=request.pk)
                _audit(None, "deliver", request)
                delivered.append(request)
    return delivered


def cr_refresh_queue() -> None:
    """Queue ``change_requests_refresh_task`` once the transaction commits, unless one is
    queued and has not started yet (that one will see these records too): a sync storing
    twenty batches asks twenty times and the worker refreshes once or twice.

    ``robust``: the records are committed already; a broker or cache failure is logged and the
    beat's refresh (every 15 minutes) catches up.
    """
    from pipelines.tasks import change_requests_refresh_task  # tasks imports the sync engine

    def send() -> None:
        if cache.add(REFRESH_PENDING_KEY, True, timeout=REFRESH_PENDING_SECONDS):
            change_requests_refresh_task.delay()

    transaction.on_commit(send, robust=True)


def cr_refresh_taken() -> None:
    """The queued refresh has started: records committed from now on queue another one."""
    cache.delete(REFRESH_PENDING_KEY)
