"""Which changes and deployments carry a change request: by its key, or linked by hand.

Links by key are computed when read, not stored: the records' text is the truth, so a commit
message or ref fixed upstream (and re-synced) moves its links at once, and nothing has to be
kept in step after each sync. Hand links are the request's ``linked_changes`` and
``linked_deployments``.

1. A **change** mentions ``CR-123`` when its title (commit message first line, or pull request
   title) or its pull request URL contains the key as a word: any case, not inside a longer
   word or number (``CR-1234``, ``XCR-123``, ``CR-123_x`` and ``CR-0123`` do not mention
   ``CR-123``; ``[CR-123]``, ``cr-123:`` and ``CR-123-fix`` do).
2. A **deployment** carries a request when its ref mentions the key, or it carries
   (``Deployment.changes``) a change that mentions it, and it did not finish before the request
   was created (the key did not exist yet: an older mention is about something else), or by
   hand: it is linked, or it carries a change linked by hand.

The database does the scanning: ``~*`` (``__iregex``) with ``\\m``/``\\M``, PostgreSQL's word
boundaries, over one alternation of every key asked about; the few rows that match are then
assigned to their keys with the same rule in Python (``mentioned_numbers``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from pipelines.connectors.base import RunStatus
from pipelines.models import Change, ChangeRequest, Deployment

KEY_PREFIX = "CR-"
MAX_DIGITS = 9  # numbers fit a PositiveIntegerField; longer "keys" are no request's
# The Python twin of key_regex(): ASCII word characters, as PostgreSQL's \m and \M use.
_MENTION = re.compile(r"(?<!\w)CR-([1-9][0-9]*)(?!\w)", re.IGNORECASE | re.ASCII)
_KEY = re.compile(rf"CR-([1-9][0-9]{{0,{MAX_DIGITS - 1}}})", re.IGNORECASE | re.ASCII)
KEY_URL_PATTERN = rf"[Cc][Rr]-[1-9][0-9]{{0,{MAX_DIGITS - 1}}}"  # the API's lookup

ChangesThrough = Deployment.changes.through
HandChanges = ChangeRequest.linked_changes.through
HandDeployments = ChangeRequest.linked_deployments.through


def key_of(number: int) -> str:
    return f"{KEY_PREFIX}{number}"


def parse_key(text: str) -> int | None:
    """``CR-12`` (any case, surrounding blanks ignored) -> 12; anything else -> None."""
    match = _KEY.fullmatch(text.strip())
    return int(match.group(1)) if match else None


def mentioned_numbers(*texts: str | None) -> set[int]:
    """The request numbers whose key the texts mention as a word."""
    return {
        int(match.group(1))
        for text in texts
        if text
        for match in _MENTION.finditer(text)
        if len(match.group(1)) <= MAX_DIGITS
    }


def key_regex(numbers: Iterable[int]) -> str:
    """A PostgreSQL ARE matching any of the keys as a word (use with ``__iregex``)."""
    alternatives = "|".join(str(n) for n in sorted(set(numbers)))
    return rf"\mCR-({alternatives})\M"


def changes_mentioning(numbers: Iterable[int], queryset: QuerySet[Change] | None = None):
    """Changes whose title or pull request URL mentions any of the keys."""
    pattern = key_regex(numbers)
    queryset = Change.objects.all() if queryset is None else queryset
    return queryset.filter(Q(title__iregex=pattern) | Q(pull_request__iregex=pattern))


def production_deployments() -> QuerySet[Deployment]:
    """Successful deployments to a production environment, finished: the ones that deliver."""
    return Deployment.objects.filter(
        status=RunStatus.SUCCESS, environment__is_production=True, finished_at__isnull=False
    )


# --- one request, for its page and the API --------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """A change or deployment carrying the request, and how it is linked (one or both)."""

    record: Change | Deployment
    by_key: bool
    by_hand: bool


def carriers_of(request: ChangeRequest) -> tuple[list[Carried], list[Carried]]:
    """The changes (oldest commit first) and deployments (in finishing order) carrying it."""
    number = request.number
    hand_change_ids = set(request.linked_changes.values_list("pk", flat=True))
    key_change_ids = set(changes_mentioning([number]).values_list("pk", flat=True))
    changes = Change.objects.filter(pk__in=hand_change_ids | key_change_ids).select_related(
        "service"
    )

    carrying = ChangesThrough.objects.filter(change_id__in=hand_change_ids | key_change_ids)
    by_change: dict[int, set[int]] = defaultdict(set)
    for deployment_id, change_id in carrying.values_list("deployment_id", "change_id"):
        by_change[deployment_id].add(change_id)
    hand_deployment_ids = set(request.linked_deployments.values_list("pk", flat=True))
    deployments = (
        Deployment.objects.filter(
            Q(ref__iregex=key_regex([number]))
            | Q(pk__in=by_change.keys())
            | Q(pk__in=hand_deployment_ids)
        )
        .select_related("service", "environment", "source", "run")
        .order_by("finished_at", "pk")
    )
    carried_deployments = []
    for deployment in deployments:
        changes_in = by_change.get(deployment.pk, set())
        by_key = bool(
            (number in mentioned_numbers(deployment.ref) or changes_in & key_change_ids)
            and not _before(deployment.finished_at, request.created_at)
        )
        by_hand = deployment.pk in hand_deployment_ids or bool(changes_in & hand_change_ids)
        if by_key or by_hand:
            carried_deployments.append(Carried(deployment, by_key, by_hand))
    carried_changes = [
        Carried(change, change.pk in key_change_ids, change.pk in hand_change_ids)
        for change in sorted(changes, key=lambda c: (c.committed_at, c.pk))
    ]
    return carried_changes, carried_deployments


def _before(finished_at: datetime | None, created_at: datetime) -> bool:
    return finished_at is not None and finished_at < created_at


# --- many requests at once, for the delivery refresh -----------------------------------------


def first_production_deployments(
    requests: Iterable[ChangeRequest],
) -> dict[int, tuple[datetime, int]]:
    """For each request (by id): ``(finished_at, deployment id)`` of the earliest successful
    production deployment carrying it (ties: the lower id). Requests nothing carried to
    production yet are absent.

    A fixed number of queries whatever the number of requests: one regex scan of the changes
    production carried, one of the production deployments' refs, the hand links, and the
    deployment-change pairs of the candidates.
    """
    requests = list(requests)
    if not requests:
        return {}
    by_number = {r.number: r for r in requests}
    created_at = {r.pk: r.created_at for r in requests}
    shipped = production_deployments()
    pattern = key_regex(by_number)

    hand_changes: dict[int, set[int]] = defaultdict(set)  # change id -> request ids
    for request_id, change_id in HandChanges.objects.filter(
        changerequest_id__in=created_at
    ).values_list("changerequest_id", "change_id"):
        hand_changes[change_id].add(request_id)
    hand_deployments: dict[int, set[int]] = defaultdict(set)  # deployment id -> request ids
    for request_id, deployment_id in HandDeployments.objects.filter(
        changerequest_id__in=created_at
    ).values_list("changerequest_id", "deployment_id"):
        hand_deployments[deployment_id].add(request_id)

    key_changes: dict[int, set[int]] = defaultdict(set)  # change id -> request ids
    in_production = ChangesThrough.objects.filter(deployment__in=shipped).values("change_id")
    for change_id, title, pull_request in changes_mentioning(
        by_number, Change.objects.filter(pk__in=in_production)
    ).values_list("pk", "title", "pull_request"):
        for number in mentioned_numbers(title, pull_request) & by_number.keys():
            key_changes[change_id].add(by_number[number].pk)

    linked_change_ids = key_changes.keys() | hand_changes.keys()
    carrying_linked = ChangesThrough.objects.filter(change_id__in=linked_change_ids)
    candidates = list(
        shipped.filter(
            Q(ref__iregex=pattern)
            | Q(pk__in=carrying_linked.values("deployment_id"))
            | Q(pk__in=hand_deployments.keys())
        ).values_list("pk", "finished_at", "ref")
    )
    changes_of: dict[int, set[int]] = defaultdict(set)  # deployment id -> linked change ids
    for deployment_id, change_id in ChangesThrough.objects.filter(
        deployment_id__in=[pk for pk, _finished, _ref in candidates],
        change_id__in=linked_change_ids,
    ).values_list("deployment_id", "change_id"):
        changes_of[deployment_id].add(change_id)

    first: dict[int, tuple[datetime, int]] = {}
    for deployment_id, finished_at, ref in candidates:
        by_key = {by_number[n].pk for n in mentioned_numbers(ref) & by_number.keys()}
        by_hand = set(hand_deployments.get(deployment_id, ()))
        for change_id in changes_of.get(deployment_id, ()):
            by_key |= key_changes.get(change_id, set())
            by_hand |= hand_changes.get(change_id, set())
        by_key = {pk for pk in by_key if not _before(finished_at, created_at[pk])}
        for request_id in by_key | by_hand:
            candidate = (finished_at, deployment_id)
            if request_id not in first or candidate < first[request_id]:
                first[request_id] = candidate
    return first
