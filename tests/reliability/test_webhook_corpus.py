"""Malformed webhooks for every kind: each gets a 4xx or a recorded failure, never a 5xx, and
a bad signature writes nothing (issue 10, "Bad input"; ECOSYSTEM.md C7 rows 2 and 3).

A *recorded failure* is the documented contract for a validly signed body that does not
validate (docs/monitoring-sources.md, "Answers"): the delivery is kept as a failed RawEvent with
a readable reason, answered 422 to a CI system or 202 ``rejected`` to a monitoring tool; a
body the webhook stores for the worker counts when the worker then marks it failed.
The live-server half (replays from threads, oversized bodies on a socket) is in
test_webhook_corpus_live.py.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass

import pytest
from django.test import Client

from pipelines.ingest import rawevents_process
from pipelines.models import (
    Change,
    Deployment,
    Incident,
    JobRun,
    PipelineRun,
    RawEvent,
)
from tests.reliability.webhook_corpus_kinds import KINDS, SECRET, Kind, source_for

RECORDS = [RawEvent, PipelineRun, JobRun, Deployment, Change, Incident]
SMALL_LIMIT = 64 * 1024  # WEBHOOK_MAX_BYTES here (the samples are up to ~20 kB): "huge" stays cheap


@dataclass(frozen=True)
class Delivery:
    label: str
    body: bytes
    headers: dict[str, str]
    content_type: str = "application/json"


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in RECORDS}


def deliver(source, delivery: Delivery):
    return Client(raise_request_exception=False).generic(
        "POST",
        f"/webhooks/{source.kind}/{source.slug}/",
        delivery.body,
        content_type=delivery.content_type,
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in delivery.headers.items()},
    )


def _set_path(payload: dict, path: str, value) -> dict:
    changed = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node = changed
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


def _get_path(payload: dict, path: str):
    node = payload
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _wrong_values(value) -> list:
    """Values of other JSON types than ``value`` that no lax parser turns into it."""
    if isinstance(value, dict):
        return ["not an object", [1, 2]]
    if isinstance(value, list):
        return [{"not": "a list"}, 42]
    return [{"wrong": "type"}, [value]]


def signed_corpus(kind: Kind) -> list[Delivery]:
    """Validly signed deliveries whose bodies are wrong, for one kind."""
    valid = kind.body()

    def signed(label: str, body: bytes, content_type: str = "application/json", **extra):
        return Delivery(label, body, kind.headers(body, **extra), content_type)

    deep = b"[" * 10_000 + b"]" * 10_000
    corpus = [
        signed("truncated JSON", valid[: len(valid) // 2]),
        signed("truncated to one byte", valid[:1]),
        signed("empty body", b""),
        signed("JSON array", b"[]"),
        signed("JSON string", b'"workflow_run"'),
        signed("JSON number", b"42"),
        signed("JSON null", b"null"),
        signed("nested 10k deep", deep),
        signed("object nesting 10k deep", b'{"a": ' + deep + b"}"),
        signed("invalid UTF-8", b'{"action": "\xff\xfe\xfd"}'),
        signed("invalid UTF-8 in a valid body", valid[:-1] + b', "x": "\xc3\x28"}'),
        signed("UTF-16 with a BOM", "\ufeff".encode("utf-16") + valid[:50]),
        signed("lone surrogate", valid[:-1] + b', "x": "\\ud800"}'),
        signed("NUL character", valid[:-1] + b', "x": "a\\u0000b"}'),
        signed("NaN literal", valid[:-1] + b', "x": NaN}'),
        signed("huge number", valid[:-1] + b', "x": 1' + b"0" * 3000 + b"}"),
        # The last of two equal keys wins: a wrong-typed repeat of a needed one must be caught.
        signed("duplicate key", valid[:-1] + b', "' + kind.needed[0].encode() + b'": 1}'),
        signed("over WEBHOOK_MAX_BYTES", b'{"x": "' + b"a" * SMALL_LIMIT + b'"}'),
        signed("content type text/plain", valid, "text/plain"),
        signed("content type XML", valid, "application/xml"),
        signed("content type multipart", valid, "multipart/form-data; boundary=x"),
        signed("form body without payload", b"other=1", "application/x-www-form-urlencoded"),
    ]
    if kind.event_headers:
        without_event = {
            k: v for k, v in kind.headers(valid).items() if k not in kind.event_headers
        }
        corpus.append(Delivery("missing event header", valid, without_event))
    for path in kind.needed:
        for wrong in _wrong_values(_get_path(kind.payload, path)):
            body = json.dumps(_set_path(kind.payload, path, wrong)).encode()
            corpus.append(signed(f"{path} as {type(wrong).__name__}", body))
        if path not in kind.nullable:
            body = json.dumps(_set_path(kind.payload, path, None)).encode()
            corpus.append(signed(f"{path} null", body))
    return corpus


def unsigned_corpus(kind: Kind) -> list[Delivery]:
    """Deliveries whose signature (or shared secret) is missing or wrong: all 401."""
    valid = kind.body()
    signed = kind.headers(valid)
    auth = kind.sign(valid, SECRET)
    other = {k: v for k, v in signed.items() if k not in auth}
    tampered = valid.replace(b"}", b" }", 1)
    corpus = [
        Delivery("no signature", valid, other),
        Delivery("wrong secret", valid, kind.headers(valid, "not-the-secret")),
        Delivery("empty signature", valid, {**other, **{k: "" for k in auth}}),
        Delivery("secret one letter off", valid, kind.headers(valid, SECRET[:-1] + "X")),
        Delivery("non-ASCII signature", valid, {**other, **{k: "sécret" for k in auth}}),
        Delivery("bad JSON, no signature", b"{truncated", other),
        Delivery("huge body, no signature", b"x" * (SMALL_LIMIT + 1), other),
    ]
    if kind.sign(tampered, SECRET) != auth:  # GitLab, Alertmanager, Opsgenie sign no body
        corpus.append(Delivery("signature of another body", tampered, signed))
    header, value = next(iter(auth.items()))
    if "=" in value and header != "Authorization":  # sha256=<hex> and v1=<hex> kinds
        scheme, _, digest = value.partition("=")
        sha1 = {header: "sha1=" + digest}
        corpus.append(Delivery("sha1= scheme", valid, {**other, **sha1}))
        upper = {header: f"{scheme}={digest.upper()}"}
        corpus.append(Delivery("upper-case digest", valid, {**other, **upper}))
    if header == "Authorization":
        corpus.append(Delivery("Basic scheme", valid, {**other, header: f"Basic {SECRET}"}))
    return corpus


def outcome(response, before: set[int]) -> str:
    """ "4xx", "recorded failure", or what went wrong, after the worker's pass over the rows."""
    if response.status_code >= 500:
        return f"{response.status_code}"
    if 400 <= response.status_code < 500:
        return "4xx"
    new = RawEvent.objects.exclude(pk__in=before)
    rawevents_process(
        ids=list(new.filter(status=RawEvent.Status.PENDING).values_list("id", flat=True))
    )
    failed = [
        event for event in new.all() if event.status == RawEvent.Status.FAILED and event.error
    ]
    if response.status_code == 202 and len(failed) == new.count() == 1:
        return "recorded failure"
    return f"{response.status_code} {response.content[:80]!r} rows {[e.status for e in new]}"


@pytest.fixture
def sources(org, service, settings):
    settings.WEBHOOK_MAX_BYTES = SMALL_LIMIT
    return {name: source_for(kind, org.users["ada"]) for name, kind in KINDS.items()}


def test_the_valid_delivery_of_each_kind_is_accepted(sources):
    """The corpus mutates these bodies: each must be good as it stands, or a mutation proves
    nothing."""
    for name, kind in KINDS.items():
        body = kind.body()
        response = deliver(sources[name], Delivery("valid", body, kind.headers(body)))

        assert (name, response.status_code, response.json()["status"]) == (name, 202, "accepted")


def test_every_malformed_delivery_gets_a_4xx_or_a_recorded_failure(sources):
    tally, wrong = Counter(), []
    for name, kind in KINDS.items():
        for delivery in signed_corpus(kind):
            before = set(RawEvent.objects.values_list("pk", flat=True))
            with_records = row_counts()
            result = outcome(deliver(sources[name], delivery), before)
            tally[result] += 1
            if result not in ("4xx", "recorded failure"):
                wrong.append(f"{name}: {delivery.label}: {result}")
            # A bad body records its failure and nothing else (no run, job or incident).
            records = {k: v for k, v in row_counts().items() if k != "RawEvent"}
            if records != {k: v for k, v in with_records.items() if k != "RawEvent"}:
                wrong.append(f"{name}: {delivery.label}: wrote records {records}")
    total = sum(tally.values())
    server_errors = sum(n for result, n in tally.items() if result.startswith("5"))
    unsigned = unsigned_deliveries(sources)
    print(
        f"\n{total + len(unsigned)} malformed deliveries: "
        f"{tally['4xx'] + sum(1 for _, status, _ in unsigned if 400 <= status < 500)} 4xx, "
        f"{tally['recorded failure']} recorded failures, "
        f"{server_errors + sum(1 for _, status, _ in unsigned if status >= 500)} 5xx, "
        f"{sum(rows for _, _, rows in unsigned)} rows from bad signatures"
    )
    assert wrong == [], "\n".join(wrong)
    refused = [(label, status, rows) for label, status, rows in unsigned]
    assert refused == [(label, expected_refusal(label), 0) for label, _, _ in unsigned]


def expected_refusal(label: str) -> int:
    return 413 if "huge body" in label else 401


def unsigned_deliveries(sources) -> list[tuple[str, int, int]]:
    """Every badly signed delivery: (kind and case, HTTP status, rows it wrote)."""
    answers = []
    for name, kind in KINDS.items():
        for delivery in unsigned_corpus(kind):
            before = row_counts()
            response = deliver(sources[name], delivery)
            after = row_counts()
            written = sum(after[model] - before[model] for model in before)
            answers.append((f"{name}: {delivery.label}", response.status_code, written))
    return answers


def test_a_source_of_another_kind_or_unknown_slug_is_404_and_writes_nothing(sources):
    github = KINDS["github"]
    body = github.body()
    before = row_counts()

    for path in [
        f"/webhooks/github/{sources['gitlab'].slug}/",
        "/webhooks/github/no-such-source/",
        "/webhooks/prometheus/anything/",
        "/webhooks/../admin/",
    ]:
        response = Client().post(path, body, content_type="application/json", **{
            "HTTP_X_HUB_SIGNATURE_256": github.headers(body)["X-Hub-Signature-256"],
        })  # fmt: skip
        assert response.status_code == 404, path
    assert row_counts() == before


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(sources, method):
    response = getattr(Client(), method)(f"/webhooks/github/{sources['github'].slug}/")

    assert response.status_code == 405
    assert not RawEvent.objects.exists()


def test_replays_in_sequence_store_one_row_per_kind(sources):
    for name, kind in KINDS.items():
        body = kind.body()
        extra = {kind.delivery_header: "replayed-1"} if kind.delivery_header else {}
        answers = [
            deliver(sources[name], Delivery("replay", body, kind.headers(body, **extra)))
            for _ in range(20)
        ]

        statuses = [(a.status_code, a.json()["status"]) for a in answers]
        assert statuses == [(202, "accepted")] + [(202, "duplicate")] * 19, name
        assert RawEvent.objects.filter(source=sources[name]).count() == 1, name
