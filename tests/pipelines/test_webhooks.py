"""Webhook intake: signatures on raw bytes, one row per delivery, 202 at once, bad input 4xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from pipelines.ingest import rawevents_process
from pipelines.models import PipelineRun, RawEvent
from tests.pipelines.conftest import recorded

PIPELINE_HOOK = recorded("gitlab", "webhook-pipeline-hook.go-gitlab.json")
PUSH_HOOK = recorded("gitlab", "webhook-push-hook.go-gitlab.json")


@pytest.fixture
def gitlab(make_source, service):
    project = PIPELINE_HOOK["project"]["path_with_namespace"]
    return make_source("gitlab", repositories=[{"name": project, "service": service.slug}])


def post(path: str, body: bytes, **headers) -> object:
    return Client().generic(
        "POST",
        path,
        body,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    )


def gitlab_post(
    source, payload: dict, *, token: str = "s3cret", event: str = "Pipeline Hook", **headers
):
    return post(
        f"/webhooks/gitlab/{source.slug}/",
        json.dumps(payload).encode(),
        **{"X-Gitlab-Token": token, "X-Gitlab-Event": event, **headers},
    )


def test_a_verified_delivery_is_stored_and_answered_202(gitlab):
    response = gitlab_post(gitlab, PIPELINE_HOOK, **{"Idempotency-Key": "delivery-1"})

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    event = RawEvent.objects.get()
    assert (event.kind, event.delivery_id, event.status) == (
        "Pipeline Hook",
        "webhook:delivery-1",
        "pending",
    )


def test_a_stored_delivery_is_normalised_by_the_worker(gitlab):
    gitlab_post(gitlab, PIPELINE_HOOK, **{"Idempotency-Key": "delivery-1"})

    counts = rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))

    assert counts["processed"] == 1
    run = PipelineRun.objects.get()
    assert run.external_id == str(PIPELINE_HOOK["object_attributes"]["id"])
    assert run.service.slug == "cart-api"


@pytest.mark.parametrize("token", ["wrong", "", "s3cret "])
def test_a_wrong_or_missing_token_is_401_and_stores_nothing(gitlab, token):
    response = gitlab_post(gitlab, PIPELINE_HOOK, token=token)

    assert response.status_code == 401
    assert not RawEvent.objects.exists()


def test_a_replayed_delivery_changes_nothing(gitlab):
    answers = [
        gitlab_post(gitlab, PIPELINE_HOOK, **{"Idempotency-Key": "same"}).json()["status"]
        for _ in range(20)
    ]

    assert answers == ["accepted"] + ["duplicate"] * 19
    assert RawEvent.objects.count() == 1


def test_without_a_delivery_id_the_body_hash_deduplicates(gitlab):
    for _ in range(3):
        assert gitlab_post(gitlab, PIPELINE_HOOK).status_code == 202

    assert RawEvent.objects.count() == 1
    assert RawEvent.objects.get().delivery_id.startswith("body:")


def test_an_event_we_do_not_use_is_202_and_not_stored(gitlab):
    response = gitlab_post(gitlab, PUSH_HOOK, event="Push Hook")

    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert not RawEvent.objects.exists()


def test_a_signed_body_that_is_not_json_is_400(gitlab):
    response = post(
        f"/webhooks/gitlab/{gitlab.slug}/",
        b"{truncated",
        **{"X-Gitlab-Token": "s3cret", "X-Gitlab-Event": "Pipeline Hook"},
    )

    assert response.status_code == 400
    assert not RawEvent.objects.exists()


def test_a_body_over_the_limit_is_refused_before_it_is_read(gitlab, settings):
    settings.WEBHOOK_MAX_BYTES = 1024

    response = gitlab_post(gitlab, {"padding": "x" * 2000})

    assert response.status_code == 413
    assert not RawEvent.objects.exists()


def test_an_unknown_source_or_a_kind_mismatch_is_404(gitlab):
    assert gitlab_post(gitlab, PIPELINE_HOOK).status_code == 202
    wrong_kind = post(f"/webhooks/github/{gitlab.slug}/", b"{}")
    unknown = post("/webhooks/gitlab/no-such-source/", b"{}")

    assert (wrong_kind.status_code, unknown.status_code) == (404, 404)


def test_a_source_without_a_secret_accepts_nothing(make_source, service):
    source = make_source("gitlab", webhook_secret="")

    assert gitlab_post(source, PIPELINE_HOOK, token="").status_code == 401


def _standard_signature(secret: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


@pytest.mark.parametrize(("age", "expected"), [(0, 202), (600, 401)])
def test_gitlab_standard_webhook_signatures_are_checked_with_a_time_window(
    make_source, service, age, expected
):
    key = b"0123456789abcdef0123456789abcdef"
    project = PIPELINE_HOOK["project"]["path_with_namespace"]
    source = make_source(
        "gitlab",
        webhook_secret="whsec_" + base64.b64encode(key).decode(),
        repositories=[{"name": project, "service": service.slug}],
    )
    body = json.dumps(PIPELINE_HOOK).encode()
    timestamp = int(time.time()) - age

    response = post(
        f"/webhooks/gitlab/{source.slug}/",
        body,
        **{
            "X-Gitlab-Event": "Pipeline Hook",
            "webhook-id": "msg_1",
            "webhook-timestamp": str(timestamp),
            "webhook-signature": _standard_signature(key, "msg_1", timestamp, body),
        },
    )

    assert response.status_code == expected


def _jenkins_body() -> bytes:
    return json.dumps(
        {
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
    ).encode()


@pytest.mark.parametrize(("secret", "expected"), [("jenkins-secret", 202), ("other", 401)])
def test_jenkins_notifications_need_the_flightdeck_signature(
    make_source, service, secret, expected
):
    source = make_source(
        "jenkins",
        webhook_secret="jenkins-secret",
        repositories=[{"name": "cart-api", "service": service.slug}],
    )
    body = _jenkins_body()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    response = post(
        f"/webhooks/jenkins/{source.slug}/", body, **{"X-Flightdeck-Signature": signature}
    )

    assert response.status_code == expected
    assert RawEvent.objects.count() == (1 if expected == 202 else 0)
