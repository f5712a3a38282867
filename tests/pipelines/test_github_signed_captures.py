"""Real signed GitHub deliveries (captured with their headers) through the webhook endpoint.

The captures' secret is published by their upstream repository (ci-samples/SOURCES.md), so the
recorded X-Hub-Signature-256 must verify over the recorded raw bytes, and one flipped byte must
not. Also GitHub's documented test vector for the HMAC itself.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from pipelines.ingest import rawevents_process
from pipelines.models import Change, PipelineRun, RawEvent
from pipelines.webhooks import _hmac_hex
from tests.pipelines.conftest import FIXTURES

SECRET = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b"
CAPTURES = [
    "webhook-workflow_run-in_progress.captured-with-headers-signed.cogni.json",
    "webhook-pull_request-closed-merged.captured-with-headers-signed.cogni.json",
]


def capture(name: str) -> tuple[bytes, dict[str, str]]:
    envelope = json.loads((FIXTURES / "github" / name).read_text())
    return base64.b64decode(envelope["body_raw_base64"]), envelope["headers"]


def deliver(slug: str, body: bytes, headers: dict[str, str]):
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in headers.items()
        if name.lower().startswith("x-")
    }
    return Client().generic(
        "POST", f"/webhooks/github/{slug}/", body, content_type="application/json", **meta
    )


@pytest.fixture
def github(make_source, service):
    repository = json.loads(capture(CAPTURES[0])[0])["repository"]["full_name"]
    return make_source(
        "github",
        webhook_secret=SECRET,
        repositories=[{"name": repository, "service": service.slug}],
    )


def test_githubs_documented_test_vector():
    assert _hmac_hex("It's a Secret to Everybody", b"Hello, World!") == (
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize("name", CAPTURES)
def test_a_real_signed_delivery_is_accepted_once(github, name):
    body, headers = capture(name)

    first = deliver(github.slug, body, headers)
    again = deliver(github.slug, body, headers)

    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")
    assert RawEvent.objects.get().delivery_id == f"webhook:{headers['x-github-delivery']}"


@pytest.mark.parametrize("name", CAPTURES)
def test_one_flipped_byte_or_a_sha1_only_signature_is_refused(github, name):
    body, headers = capture(name)
    tampered = body.replace(b'"', b"'", 1)
    sha1_only = {k: v for k, v in headers.items() if k != "x-hub-signature-256"}

    assert deliver(github.slug, tampered, headers).status_code == 401
    assert deliver(github.slug, body, sha1_only).status_code == 401
    assert not RawEvent.objects.exists()


def test_the_captures_become_a_run_and_a_change(github):
    for name in CAPTURES:
        deliver(github.slug, *capture(name))

    rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))

    assert PipelineRun.objects.get().status == "running"
    assert Change.objects.get().pull_request.startswith("https://github.com/")
