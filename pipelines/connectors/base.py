"""The connector contract: fetch raw items from a CI system, and map them to delivery records.

Data flow (DESIGN.md): a connector *fetches* (``Connector.fetch``, or ``Connector.webhook_items``
for a verified webhook body) and yields ``RawItem``s; the sync engine stores each as a RawEvent;
``Connector.normalise`` turns one raw item into ``Record``s, which the services upsert keyed on
``(source, external_id)``. ``normalise`` is pure (no I/O, no database) so a fix can be replayed over
stored history (``manage.py reprocess``).

Connectors only fetch and parse: no ORM, no Celery. Errors are ``ConnectorError`` from
``pipelines.connectors.http`` (``permanent`` for bad tokens and missing repositories).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import import_module
from typing import Any, ClassVar

import orjson

from pipelines.connectors.http import SourceHttp

# kind -> dotted path, imported lazily (hc's TRANSPORTS). Kinds without a connector (the push
# API, Prometheus for SLO queries, incidents opened in the portal) take no webhooks and no polls.
CONNECTORS = {
    "github": "pipelines.connectors.github.GitHubConnector",
    "gitlab": "pipelines.connectors.gitlab.GitLabConnector",
    "jenkins": "pipelines.connectors.jenkins.JenkinsConnector",
    "alertmanager": "pipelines.connectors.alertmanager.AlertmanagerConnector",
    "pagerduty": "pipelines.connectors.pagerduty.PagerDutyConnector",
    "opsgenie": "pipelines.connectors.opsgenie.OpsgenieConnector",
}
# The kinds the sync engine polls. Alertmanager is webhook-only: its API holds current state only
# (docs/monitoring-sources.md says why that cannot reconcile).
POLLED_KINDS = frozenset({"github", "gitlab", "jenkins", "pagerduty", "opsgenie"})


def connector_class(kind: str) -> type[Connector]:
    module_name, _, class_name = CONNECTORS[kind].rpartition(".")
    return getattr(import_module(module_name), class_name)


# --- what a source is configured with -----------------------------------------------------


@dataclass(frozen=True)
class Repository:
    """One configured repository (GitHub ``owner/repo``, GitLab project path or id, Jenkins job
    full name) and the slug of the service it feeds."""

    name: str
    service: str


@dataclass(frozen=True)
class SourceOptions:
    backfill_days: int = 90
    incident_label: str = "incident"
    # Jenkins: a regular expression; a job or stage whose name matches is a deployment.
    deployment_pattern: str = r"(?i)deploy"
    # Monitoring tools: the alert label (Opsgenie: tag prefix) naming the service, and the
    # configured name -> service mapping (``Connector.route``).
    service_label: str = "service"
    repositories: tuple[Repository, ...] = ()


# --- what a connector yields ----------------------------------------------------------------


@dataclass(frozen=True)
class RawItem:
    """One object as the CI system returned it, before normalisation.

    ``kind`` is ``"<system>.<object>"`` (e.g. ``github.workflow_run``), ``repository`` the
    configured repository name it came from, ``payload`` the object as received (JSON-safe).
    ``context`` carries what the object alone does not say (e.g. the run id of a job list, the
    environment a compare belongs to); it is stored with the payload.
    """

    kind: str
    repository: str
    payload: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Stable id of this exact content: re-polling an unchanged object stores nothing new."""
        body = orjson.dumps(
            [self.kind, self.repository, self.payload, self.context],
            option=orjson.OPT_SORT_KEYS,
            default=str,
        )
        return hashlib.sha256(body).hexdigest()


# --- normalised records ---------------------------------------------------------------------


class RunStatus(StrEnum):
    """One vocabulary for runs, jobs and deployments (GitHub ``cancelled``, GitLab ``canceled``,
    Jenkins ``ABORTED`` all become ``cancelled``); unknown values become ``other``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    OTHER = "other"

    @property
    def is_finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass(frozen=True)
class RunRecord:
    external_id: str
    name: str
    status: RunStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    branch: str = ""
    sha: str = ""
    event: str = ""
    attempt: int = 1
    url: str = ""


@dataclass(frozen=True)
class JobRecord:
    external_id: str
    run_external_id: str
    name: str
    status: RunStatus
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stage: str = ""
    url: str = ""
    runner: str = ""  # runner label or kind (CI cost rates), "" when the CI system did not say


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment of the repository's service to ``environment`` (a name; created if new,
    production by the name rule unless ``is_production`` says otherwise)."""

    external_id: str
    environment: str
    status: RunStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    sha: str = ""
    ref: str = ""
    is_production: bool | None = None
    is_rework: bool = False
    run_external_id: str = ""
    url: str = ""


@dataclass(frozen=True)
class ChangeRecord:
    """A change (commit) of the service. ``committed_at`` is when work on it began as far as we
    can tell: the commit time, or for a squash-merged pull request its first commit's time.
    ``deployment_external_id`` links it to the deployment that first brought it."""

    sha: str
    committed_at: datetime
    title: str = ""
    pull_request: str = ""
    merged_at: datetime | None = None
    deployment_external_id: str = ""
    url: str = ""


# Portal severities, most severe first (pipelines.models.Severity); "" is untriaged.
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")


def less_severe(severity: str, than: str) -> bool:
    """True when ``severity`` is below the minimum ``than`` (sev3 is below sev2); an untriaged
    severity or no minimum is never below."""
    if severity not in SEVERITIES or than not in SEVERITIES:
        return False
    return SEVERITIES.index(severity) > SEVERITIES.index(than)


@dataclass(frozen=True)
class IncidentEventRecord:
    """One entry of an incident's timeline as the tool told it (``IncidentEvent``).

    ``kind`` is opened, acknowledged, mitigated, resolved, reopened (state changes: written only
    when they change the incident) or update (always written once per ``dedupe_key``)."""

    kind: str
    at: datetime
    actor_name: str = ""
    text: str = ""
    dedupe_key: str = ""


@dataclass(frozen=True)
class IncidentRecord:
    """An incident of the service. Issue trackers send ``snapshot`` records (the issue as it is
    now: no ``resolved_at`` reopens it); monitoring tools send notifications that may come late
    or twice (``snapshot=False``): they only move an incident forward, except a ``reopened``
    event newer than its resolution. ``severity`` and ``status`` blank: not said."""

    external_id: str
    title: str
    opened_at: datetime
    resolved_at: datetime | None = None
    deployment_external_id: str = ""
    url: str = ""
    severity: str = ""
    status: str = ""
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    summary: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    events: tuple[IncidentEventRecord, ...] = ()
    snapshot: bool = True


Record = RunRecord | JobRecord | DeploymentRecord | ChangeRecord | IncidentRecord


# --- the contract ---------------------------------------------------------------------------


class Connector(ABC):
    """Fetches from one CI system. One instance per sync of one source."""

    kind: ClassVar[str]
    # X-...-Event header -> handled? Webhook events not listed are answered 202 and ignored.
    webhook_event_header: ClassVar[str] = ""
    # Monitoring tools name the service in each payload (an alert label, a tag): a name the
    # source's repositories list does not map is taken as the portal service's slug.
    names_services: ClassVar[bool] = False
    # False: ``fetch`` reads the whole account once per sync (``ALL_REPOSITORIES``) instead of
    # once per configured repository.
    polls_per_repository: ClassVar[bool] = True

    def __init__(self, *, http: SourceHttp, options: SourceOptions) -> None:
        self.http = http
        self.options = options

    @staticmethod
    @abstractmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """(headers, basic-auth pair) for a request carrying ``token``."""

    @abstractmethod
    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Yield the repository's new and changed objects since the last sync.

        ``state`` is this repository's cursor dict from the previous sync (empty the first
        time); update it in place as you go. The engine stores the yielded items and saves
        ``state`` together, so a sync stopped half-way resumes from the last saved point.
        ``since`` bounds a first sync (the backfill window); ``full=True`` ignores the cursors
        and re-reads the whole window. Yield items of finished objects in a stable order.
        """

    @staticmethod
    @abstractmethod
    def normalise(item: RawItem) -> list[Record]:
        """Pure mapping of one raw item to records. Raise ``pydantic.ValidationError`` (or
        ``ValueError``) for a malformed payload; never return half a record."""

    @staticmethod
    @abstractmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """Raw items carried by a webhook of type ``event`` (the value of
        ``webhook_event_header``), or [] for events we do not use. The signature is checked
        before this is called."""

    @staticmethod
    def webhook_event(payload: dict[str, Any]) -> str:
        """The event name stored with a webhook whose tool sends no event header (the body
        says what happened); "" when the body does not say either."""
        return ""

    @classmethod
    def route(cls, items: list[RawItem], options: SourceOptions) -> list[RawItem]:
        """The items with ``repository`` set to the name that maps them to a service under the
        source's ``options`` (its service label, its repositories list); items naming no
        service are dropped. CI connectors' items name their repository already."""
        return items


ALL_REPOSITORIES = Repository(name="*", service="")
