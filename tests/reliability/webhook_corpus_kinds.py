"""One valid, signed delivery per webhook kind, for the malformed-webhook corpus.

Each kind knows its recorded body (a vendor sample), how that vendor signs a body, and which
fields its connector needs (the corpus gives those the wrong type). Bodies come from
tests/pipelines/connectors/fixtures and tests/pipelines/monitoring/payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines import services
from tests.pipelines.conftest import recorded
from tests.pipelines.monitoring.conftest import OG_CREATE, pd_event
from tests.pipelines.monitoring.conftest import recorded as recorded_monitoring

SECRET = "corpus-s3cret"


def _hmac(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Kind:
    name: str
    payload: dict
    sign: Callable[[bytes, str], dict[str, str]]  # (body, secret) -> auth headers
    event_headers: dict[str, str] = field(default_factory=dict)
    delivery_header: str = ""
    repositories: list[dict] = field(default_factory=list)
    base_url: str = "http://127.0.0.1:9/"
    # Dotted paths the connector reads; the corpus gives each a value of the wrong JSON type.
    needed: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()  # needed paths where null means "none" (valid, not wrong)

    def headers(self, body: bytes, secret: str = SECRET, **extra: str) -> dict[str, str]:
        return {**self.sign(body, secret), **self.event_headers, **extra}

    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


def _jenkins_notification() -> dict:
    return {
        "name": "cart-api",
        "url": "job/cart-api/",
        "build": {
            "full_url": "http://jenkins/job/cart-api/7/",
            "number": 7,
            "phase": "FINALIZED",
            "status": "SUCCESS",
            "url": "job/cart-api/7/",
            "timestamp": 1700000000000,
            "duration": 60000,
            "scm": {"commit": "a" * 40, "branch": "main"},
        },
    }


KINDS = {
    kind.name: kind
    for kind in [
        Kind(
            "github",
            recorded("github", "webhook-workflow_run-completed-success.octokit.json"),
            sign=lambda body, secret: {"X-Hub-Signature-256": "sha256=" + _hmac(body, secret)},
            event_headers={"X-GitHub-Event": "workflow_run"},
            delivery_header="X-GitHub-Delivery",
            repositories=[{"name": "octo-org/octo-repo", "service": "cart-api"}],
            needed=(
                "workflow_run",
                "workflow_run.id",
                "workflow_run.created_at",
                "workflow_run.run_attempt",
                "repository",
            ),
        ),
        Kind(
            "gitlab",
            recorded("gitlab", "webhook-pipeline-hook.go-gitlab.json"),
            sign=lambda body, secret: {"X-Gitlab-Token": secret},
            event_headers={"X-Gitlab-Event": "Pipeline Hook"},
            delivery_header="Idempotency-Key",
            repositories=[
                {
                    "name": recorded("gitlab", "webhook-pipeline-hook.go-gitlab.json")["project"][
                        "path_with_namespace"
                    ],
                    "service": "cart-api",
                }
            ],
            needed=(
                "object_attributes",
                "object_attributes.id",
                "object_attributes.status",
                "object_attributes.created_at",
                "builds",
            ),
            nullable=("builds",),
        ),
        Kind(
            "jenkins",
            _jenkins_notification(),
            sign=lambda body, secret: {"X-Flightdeck-Signature": "sha256=" + _hmac(body, secret)},
            delivery_header="X-Flightdeck-Delivery",
            repositories=[{"name": "cart-api", "service": "cart-api"}],
            needed=("build", "build.number", "build.status", "build.timestamp", "build.scm"),
            nullable=("build.status", "build.scm"),
        ),
        Kind(
            "alertmanager",
            recorded_monitoring("alertmanager", "firing.docsrs-sample-EDITED.json"),
            sign=lambda body, secret: {"Authorization": f"Bearer {secret}"},
            base_url="http://alertmanager.example.org:9093/",
            needed=("alerts", "alerts.0", "alerts.0.labels", "alerts.0.startsAt", "status"),
        ),
        Kind(
            "pagerduty",
            pd_event("incident.triggered"),
            sign=lambda body, secret: {"X-PagerDuty-Signature": "v1=" + _hmac(body, secret)},
            delivery_header="X-Webhook-Id",
            repositories=[{"name": "PF9KMXH", "service": "cart-api"}],
            base_url="https://api.pagerduty.com/",
            needed=("event", "event.data", "event.occurred_at", "event.data.id"),
        ),
        Kind(
            "opsgenie",
            OG_CREATE,
            sign=lambda body, secret: {"X-Flightdeck-Token": secret},
            base_url="https://api.opsgenie.com/",
            needed=("alert", "alert.alertId", "alert.createdAt", "alert.tags", "action"),
        ),
    ]
}


def source_for(kind: Kind, actor, *, slug_suffix: str = ""):
    return services.source_create(
        actor=actor,
        kind=kind.name,
        name=f"Corpus {kind.name}{slug_suffix}",
        base_url=kind.base_url,
        token="corpus-t0ken",
        webhook_secret=SECRET,
        repositories=kind.repositories,
    )
