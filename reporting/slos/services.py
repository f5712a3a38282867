"""Writes of SLOs: create, update, delete; evaluation is in reporting.slos.evaluation
(``slo_evaluate`` and ``slos_evaluate`` are re-exported here).

Who edits: admins and leads organisation-wide, and the service's team admins and leads.
Everyone signed in reads the SLOs of the services they see. Each write is audited. An SLO
measured by incidents is evaluated as it is saved (the database only); one measured by
Prometheus is queued for evaluation once the write commits.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from pipelines.models import CISource, Severity
from portal import outbound
from portal.access import access_for
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError
from portal.models import Role, Service
from reporting.slos.evaluation import (
    enqueue,
    notifications_queue,
    slo_evaluate,
    slo_measure,
    slo_record,
    slos_evaluate,
    slos_evaluate_queue,
)
from reporting.slos.models import Slo

__all__ = [
    "edits_any",
    "may_edit",
    "notifications_queue",
    "slo_create",
    "slo_delete",
    "slo_evaluate",
    "slo_update",
    "slos_evaluate",
    "slos_evaluate_queue",
]

MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 7, 90
MAX_LATENCY_MS = 600_000
MAX_QUERY_LENGTH = 5000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FIELDS = (
    "name", "kind", "objective", "window_days", "latency_threshold_ms", "measurement",
    "incident_severities", "prometheus_source", "query", "query_result", "emails",
    "webhook_url", "is_active",
)  # fmt: skip
# What the numbers depend on: changing any of these evaluates the SLO afresh.
MEASURED_BY = (
    "kind", "objective", "window_days", "latency_threshold_ms", "measurement",
    "incident_severities", "prometheus_source", "query", "query_result", "is_active",
)  # fmt: skip


# --- who -----------------------------------------------------------------------------------------


def may_edit(user, service: Service) -> bool:
    access = access_for(user)
    return access.is_lead or access.has_team_role(service.team_id, Role.ADMIN, Role.LEAD)


def edits_any(access) -> bool:
    """Whether the role may edit some SLO at all (the API's check before reading a body)."""
    return access.is_lead or any(
        access.has_team_role(team, Role.ADMIN, Role.LEAD) for team in access.team_ids
    )


def _require_editor(actor, service: Service) -> None:
    if not may_edit(actor, service):
        raise PermissionDenied("Only leads (and the service's team leads) edit its SLOs.")


# --- validation ----------------------------------------------------------------------------------


def _emails(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = "\n".join(str(item) for item in value)
    return "\n".join(line.strip() for line in str(value or "").splitlines() if line.strip())


def _clean(data: dict[str, Any]) -> dict[str, list[str]]:
    """Problems of an SLO's whole state, per field (empty: valid)."""
    problems: dict[str, list[str]] = {}

    def problem(field: str, text: str) -> None:
        problems.setdefault(field, []).append(text)

    if not str(data["name"]).strip():
        problem("name", "Name the objective, e.g. “Availability”.")
    if data["kind"] not in Slo.Kind.values:
        problem("kind", f"One of {', '.join(Slo.Kind.values)}.")
    objective = data["objective"]
    if isinstance(objective, bool) or not isinstance(objective, int | float):
        problem("objective", "A number of percent, e.g. 99.9.")
    elif not 0 < objective < 100:
        problem("objective", "More than 0 and less than 100 (100 % leaves no error budget).")
    window = data["window_days"]
    if isinstance(window, bool) or not isinstance(window, int):
        problem("window_days", "A whole number of days.")
    elif not MIN_WINDOW_DAYS <= window <= MAX_WINDOW_DAYS:
        problem("window_days", f"Between {MIN_WINDOW_DAYS} and {MAX_WINDOW_DAYS} days.")
    latency, threshold = data["kind"] == Slo.Kind.LATENCY, data["latency_threshold_ms"]
    if latency and threshold is None:
        problem("latency_threshold_ms", "Give the latency a request must stay under (ms).")
    elif threshold is not None and not latency:
        problem("latency_threshold_ms", "Only latency objectives have a threshold.")
    elif threshold is not None and not 1 <= threshold <= MAX_LATENCY_MS:
        problem("latency_threshold_ms", f"Between 1 and {MAX_LATENCY_MS} ms.")
    measurement = data["measurement"]
    if measurement not in Slo.Measurement.values:
        problem("measurement", f"One of {', '.join(Slo.Measurement.values)}.")
    elif measurement == Slo.Measurement.INCIDENTS:
        if latency:
            problem(
                "measurement",
                "Latency is measured by Prometheus: incidents say when a service was down, "
                "not how fast it answered.",
            )
        for field in ("prometheus_source", "query"):
            if data[field]:
                problem(field, "Only for SLOs measured by Prometheus.")
        if data["query_result"] != Slo.QueryResult.RATIO:
            problem("query_result", "Only for SLOs measured by Prometheus.")
    else:
        source = data["prometheus_source"]
        if source is None:
            problem("prometheus_source", "Choose the Prometheus source to query.")
        elif source.kind != CISource.Kind.PROMETHEUS:
            problem("prometheus_source", f"{source.name} is not a Prometheus source.")
        if not str(data["query"]).strip():
            problem("query", "Give the PromQL query (docs/slos.md has examples).")
        elif len(data["query"]) > MAX_QUERY_LENGTH:
            problem("query", f"At most {MAX_QUERY_LENGTH} characters.")
        if data["query_result"] not in Slo.QueryResult.values:
            problem("query_result", f"One of {', '.join(Slo.QueryResult.values)}.")
        elif data["query_result"] == Slo.QueryResult.LATENCY and not latency:
            problem("query_result", "A latency result belongs to latency objectives.")
        if data["incident_severities"]:
            problem("incident_severities", "Only for SLOs measured by incidents.")
    severities = data["incident_severities"]
    if not isinstance(severities, list) or any(s not in Severity.values for s in severities):
        problem("incident_severities", f"A list of {', '.join(Severity.values)}.")
    bad = [address for address in data["emails"].splitlines() if not _EMAIL.match(address)]
    if bad:
        problem("emails", f"Not an email address: {', '.join(bad)}")
    if data["webhook_url"] and (refusal := outbound.url_problem(data["webhook_url"])):
        problem("webhook_url", refusal)  # not http(s), or an address the SSRF guard refuses
    return problems


def _validated(data: dict[str, Any], what: str) -> dict[str, Any]:
    data = {
        **data,
        "name": str(data["name"]).strip(),
        "query": str(data["query"] or "").strip(),
        "emails": _emails(data["emails"]),
        "webhook_url": str(data["webhook_url"] or "").strip(),
        "incident_severities": sorted(set(data["incident_severities"] or []))
        if isinstance(data["incident_severities"], list | tuple)
        else data["incident_severities"],
    }
    problems = _clean(data)
    if problems:
        raise ApplicationError(what, problems)
    return data


def _unique_slug(service: Service, name: str) -> str:
    size = Slo._meta.get_field("slug").max_length
    base = slugify(f"{service.slug}-{name}")[:size] or "slo"
    slug, n = base, 2
    while Slo.objects.filter(slug=slug).exists():
        suffix = f"-{n}"
        slug, n = f"{base[: size - len(suffix)]}{suffix}", n + 1
    return slug


def _name_taken(service: Service, name: str, *, exclude: int | None = None) -> bool:
    return Slo.objects.filter(service=service, name__iexact=name).exclude(pk=exclude).exists()


# --- writes --------------------------------------------------------------------------------------


@transaction.atomic
def slo_create(
    *,
    actor,
    service: Service,
    name: str,
    objective: float,
    kind: str = Slo.Kind.AVAILABILITY,
    window_days: int = 28,
    latency_threshold_ms: int | None = None,
    measurement: str = Slo.Measurement.INCIDENTS,
    incident_severities: list[str] | None = None,
    prometheus_source: CISource | None = None,
    query: str = "",
    query_result: str = Slo.QueryResult.RATIO,
    emails: list[str] | str = "",
    webhook_url: str = "",
    is_active: bool = True,
    now: datetime | None = None,
) -> Slo:
    """A new SLO of ``service``. One measured by incidents is evaluated at once (the database
    only); one measured by Prometheus is queued for evaluation once this commits."""
    _require_editor(actor, service)
    data = _validated(
        {
            "name": name, "kind": kind, "objective": objective, "window_days": window_days,
            "latency_threshold_ms": latency_threshold_ms, "measurement": measurement,
            "incident_severities": incident_severities or [],
            "prometheus_source": prometheus_source, "query": query,
            "query_result": query_result, "emails": emails, "webhook_url": webhook_url,
            "is_active": is_active,
        },
        "The SLO is not valid: nothing was saved.",
    )  # fmt: skip
    if _name_taken(service, data["name"]):
        raise ApplicationError(
            "The SLO is not valid.", {"name": ["This service has an SLO of this name already."]}
        )
    slo = Slo.objects.create(
        service=service, slug=_unique_slug(service, data["name"]), created_by=actor, **data
    )
    audit_record(actor=actor, action="slo.create", instance=slo, after=audit_snapshot(slo))
    _evaluate_after_write(slo, now=now)
    return Slo.objects.get(pk=slo.pk)


@transaction.atomic
def slo_update(*, actor, slo: Slo, data: dict[str, Any], now: datetime | None = None) -> Slo:
    """Change the SLO's policy (the service stays). Switching the measurement clears what
    belongs to the other one (the query, or the severities), switching to availability the
    latency threshold, unless the same change gives them. Pausing resolves its alerts."""
    slo = Slo.objects.select_for_update().select_related("service").get(pk=slo.pk)
    _require_editor(actor, slo.service)
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ApplicationError("Unknown fields.", {k: ["Unknown field."] for k in unknown})
    before = audit_snapshot(slo)
    state = {field: getattr(slo, field) for field in FIELDS} | dict(data)
    if state["measurement"] != slo.measurement:
        cleared = (
            {"incident_severities": []}
            if state["measurement"] == Slo.Measurement.PROMETHEUS
            else {"prometheus_source": None, "query": "", "query_result": Slo.QueryResult.RATIO}
        )
        state |= {k: v for k, v in cleared.items() if k not in data}
    if state["kind"] == Slo.Kind.AVAILABILITY and "latency_threshold_ms" not in data:
        state["latency_threshold_ms"] = None
        if "query_result" not in data:
            state["query_result"] = Slo.QueryResult.RATIO
    state = _validated(state, "The SLO is not valid: nothing was saved.")
    if state["name"] != slo.name and _name_taken(slo.service, state["name"], exclude=slo.pk):
        raise ApplicationError(
            "The SLO is not valid.", {"name": ["This service has an SLO of this name already."]}
        )
    measured_by = {field: getattr(slo, field) for field in MEASURED_BY}
    for field, value in state.items():
        setattr(slo, field, value)
    slo.save()
    audit_record(
        actor=actor, action="slo.update", instance=slo, before=before, after=audit_snapshot(slo)
    )
    if measured_by != {f: getattr(slo, f) for f in measured_by}:
        # New rules: the old numbers say nothing about this objective. Incident-measured SLOs
        # are measured again right here; Prometheus ones show "not evaluated yet" until the
        # queued evaluation (their open alerts stay until then).
        Slo.objects.filter(pk=slo.pk).update(
            evaluated_at=None, sli=None, budget_remaining=None, burn_rates={},
            next_evaluation_at=None,
        )  # fmt: skip
        _evaluate_after_write(slo, now=now)
    return Slo.objects.get(pk=slo.pk)


@transaction.atomic
def slo_delete(*, actor, slo: Slo) -> None:
    _require_editor(actor, slo.service)
    audit_record(actor=actor, action="slo.delete", instance=slo, before=audit_snapshot(slo))
    slo.delete()


def _evaluate_after_write(slo: Slo, *, now: datetime | None) -> None:
    now = now or timezone.now()
    if not slo.is_active:
        slo_record(slo, None, now=now)  # resolves its open alerts
    elif slo.measurement == Slo.Measurement.INCIDENTS:
        slo_record(slo, slo_measure(slo, now=now), now=now)
    else:
        enqueue(service_ids=[slo.service_id], incidents_only=False)
        return
    notifications_queue()
