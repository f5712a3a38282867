"""``POST /webhooks/<kind>/<source slug>/``: verify, store once, answer 202, normalise later.

1. Refuse bodies over ``WEBHOOK_MAX_BYTES`` before reading them (413; a chunked body is read
   up to the cap and no further); kinds without a connector (the push API, Prometheus, the
   portal's own incidents) take no webhooks (404).
2. Verify on the raw bytes, in constant time (401 and nothing stored when it fails):
   GitHub ``X-Hub-Signature-256: sha256=<hmac>``; GitLab ``X-Gitlab-Token`` (plain shared
   secret) or a Standard Webhooks ``webhook-signature`` (``v1,<base64 hmac of id.ts.body>``,
   five minutes' tolerance); Jenkins ``X-Flightdeck-Signature: sha256=<hmac>``; Alertmanager
   ``Authorization: Bearer <secret>`` (its ``http_config``); PagerDuty
   ``X-PagerDuty-Signature: v1=<hmac>[,v1=<hmac>...]`` (several during a secret rotation);
   Opsgenie a custom header ``X-Flightdeck-Token: <secret>``. Then a body that is not JSON
   by its type (nor GitHub's form) is 415, and a CI delivery without its event header 400.
3. The idempotency key is the vendor's delivery id (``X-GitHub-Delivery``; GitLab's
   ``Idempotency-Key``, then ``X-Gitlab-Event-UUID``; PagerDuty's ``X-Webhook-Id``) or else a
   hash of the body: a repeated delivery finds its stored row and changes nothing.
4. Events we do not use get 202 and are not stored; the rest are stored as RawEvents and
   normalised by a worker after commit (a sweeper re-queues any left pending).
5. A body that does not parse or validate is stored as a failed RawEvent with a readable
   reason. CI systems get 400/422; monitoring tools get 202 (``"status": "rejected"``): they
   drop or disable a hook that keeps failing (PagerDuty: three 4xx in a row, 24 hours), and
   sending the same body again would not help.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from urllib.parse import parse_qs

import orjson
from django.conf import settings
from django.db import DataError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from pipelines.connectors.base import CONNECTORS, connector_class
from pipelines.ingest import MALFORMED, describe_error, rawevent_store_webhook
from pipelines.models import CISource, RawEvent
from portal.crypto import SecretError

SIGNATURE_TOLERANCE_SECONDS = 300
MONITORING_KINDS = {CISource.Kind.ALERTMANAGER, CISource.Kind.PAGERDUTY, CISource.Kind.OPSGENIE}
OPSGENIE_HEADER = "X-Flightdeck-Token"  # set as a custom header on the integration
FORM = "application/x-www-form-urlencoded"
UNSTORABLE = "the body holds text the database cannot store (a NUL character); kept as text"
logger = logging.getLogger(__name__)


def _answer(http_status: int, **body) -> JsonResponse:
    return JsonResponse(body, status=http_status)


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is larger than allowed (read no further than the cap)."""
    limit = settings.WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    if not declared and request.META.get("wsgi.input_terminated"):
        # A chunked body (gunicorn decodes it and says so): there is no length to check up
        # front and Django reads none of it, so read the server's stream up to the cap.
        body = request.META["wsgi.input"].read(limit + 1)
    else:
        body = request.read(limit + 1)
    return None if len(body) > limit else body


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(offered: str, expected: str) -> bool:
    """Constant-time comparison; on bytes, so a header with non-ASCII text is simply wrong."""
    return hmac.compare_digest(offered.encode(), expected.encode())


def _verify_prefixed_hmac(header: str, secret: str, body: bytes) -> bool:
    scheme, _, signature = header.partition("=")
    return scheme == "sha256" and _same(signature, _hmac_hex(secret, body))


def _verify_bearer(header: str, secret: str) -> bool:
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and _same(token.strip(), secret)


def _verify_pagerduty(header: str, secret: str, body: bytes) -> bool:
    """Any of the comma-separated ``v1=<hex hmac-sha256 of the body>`` signatures."""
    expected = "v1=" + _hmac_hex(secret, body)
    return any(_same(offered.strip(), expected) for offered in header.split(","))


def _verify_standard_webhook(request: HttpRequest, secret: str, body: bytes) -> bool:
    """Standard Webhooks (GitLab's signing token): v1,<base64 HMAC-SHA256 of id.ts.body>."""
    webhook_id = request.headers.get("webhook-id", "")
    timestamp = request.headers.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    key = secret.removeprefix("whsec_")
    try:
        key_bytes = (
            base64.b64decode(key, validate=True) if secret.startswith("whsec_") else secret.encode()
        )
    except ValueError:
        return False
    expected = base64.b64encode(
        hmac.new(key_bytes, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    offered = request.headers.get("webhook-signature", "").split()
    return any(
        _same(entry.partition(",")[2], expected) for entry in offered if entry.startswith("v1,")
    )


def _verified(kind: str, request: HttpRequest, secret: str, body: bytes) -> bool:
    if kind == CISource.Kind.GITHUB:
        return _verify_prefixed_hmac(request.headers.get("X-Hub-Signature-256", ""), secret, body)
    if kind == CISource.Kind.GITLAB:
        if "webhook-signature" in request.headers:
            return _verify_standard_webhook(request, secret, body)
        return _same(request.headers.get("X-Gitlab-Token", ""), secret)
    if kind == CISource.Kind.JENKINS:
        return _verify_prefixed_hmac(
            request.headers.get("X-Flightdeck-Signature", ""), secret, body
        )
    if kind == CISource.Kind.ALERTMANAGER:
        return _verify_bearer(request.headers.get("Authorization", ""), secret)
    if kind == CISource.Kind.PAGERDUTY:
        return _verify_pagerduty(request.headers.get("X-PagerDuty-Signature", ""), secret, body)
    if kind == CISource.Kind.OPSGENIE:
        return _same(request.headers.get(OPSGENIE_HEADER, ""), secret)
    return False


def _delivery_id(kind: str, request: HttpRequest, body: bytes) -> str:
    headers = request.headers
    vendor_id = {
        CISource.Kind.GITHUB: headers.get("X-GitHub-Delivery"),
        CISource.Kind.GITLAB: headers.get("Idempotency-Key")
        or headers.get("webhook-id")
        or headers.get("X-Gitlab-Event-UUID"),
        CISource.Kind.JENKINS: headers.get("X-Flightdeck-Delivery"),
        CISource.Kind.PAGERDUTY: headers.get("X-Webhook-Id"),
    }.get(kind)
    return f"webhook:{vendor_id}" if vendor_id else "body:" + hashlib.sha256(body).hexdigest()


def _takes_content_type(kind: str, content_type: str) -> bool:
    """JSON (or no type at all: hand-written curl calls); GitHub may also send a form."""
    if content_type in ("", "application/json") or content_type.endswith("+json"):
        return True
    return kind == CISource.Kind.GITHUB and content_type == FORM


def _payload(request: HttpRequest, body: bytes) -> object:
    # GitHub can be set to send application/x-www-form-urlencoded with the JSON in `payload`.
    if request.content_type == FORM:
        body = parse_qs(body.decode()).get("payload", [""])[0].encode()
    # orjson, as the worker reads the stored payload back with it: what it refuses (numbers
    # past a double, lone surrogates, nesting past 1024, NaN) would fail every later read, and
    # json.loads raises RecursionError, not ValueError, on deep nesting.
    return orjson.loads(body)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, kind: str, slug: str) -> JsonResponse:
    if kind not in CONNECTORS:
        raise Http404("No webhooks for this kind of source.")
    source = get_object_or_404(CISource, slug=slug, kind=kind)
    body = _read_body(request)
    if body is None:
        return _answer(413, detail=f"Body larger than {settings.WEBHOOK_MAX_BYTES} bytes.")
    try:
        secret = source.get_webhook_secret()
    except SecretError:
        secret = ""
    if not secret or not _verified(kind, request, secret, body):
        return _answer(401, detail="Missing or invalid signature.")
    if not _takes_content_type(kind, request.content_type or ""):
        return _answer(415, detail=f"Content type {request.content_type!r} is not JSON.")

    connector = connector_class(kind)
    if connector.webhook_event_header and not request.headers.get(connector.webhook_event_header):
        return _answer(400, detail=f"Missing {connector.webhook_event_header} header.")
    try:
        payload = _payload(request, body)
    except (ValueError, UnicodeDecodeError):
        if kind not in MONITORING_KINDS:
            return _answer(400, detail="The body is not valid JSON.")
        payload = None
    if not isinstance(payload, dict):
        if kind not in MONITORING_KINDS:
            return _answer(400, detail="The body must be a JSON object.")
        return _rejected(source, request, body, "", _as_text(body), "the body is not a JSON object")

    event = (
        request.headers.get(connector.webhook_event_header, "")
        if connector.webhook_event_header
        else connector.webhook_event(payload)
    )[:100]  # RawEvent.kind
    try:
        items = connector.webhook_items(event, payload)
    except MALFORMED as error:
        return _rejected(source, request, body, event, payload, describe_error(error))
    if not items:
        return _answer(202, status="ignored", detail=f"Event {event!r} is not used.")

    try:
        with transaction.atomic():
            stored, created = rawevent_store_webhook(
                source=source,
                event=event,
                delivery_id=_delivery_id(kind, request, body),
                payload=payload,
            )
            if created:
                from pipelines.tasks import rawevents_process_task

                transaction.on_commit(lambda: _enqueue(rawevents_process_task, stored.pk))
    except DataError:  # text PostgreSQL's jsonb refuses (a NUL character)
        return _rejected(source, request, body, event, _as_text(body), UNSTORABLE)
    return _answer(202, status="accepted" if created else "duplicate", delivery=stored.delivery_id)


def _rejected(source, request, body: bytes, event: str, payload: dict, reason: str):
    """Store the delivery as failed, with the reason, and answer it: 422 to a CI system, 202
    to a monitoring tool (module docstring, point 5)."""
    delivery_id = _delivery_id(source.kind, request, body)
    try:
        stored, _ = rawevent_store_webhook(
            source=source, event=event, delivery_id=delivery_id, payload=payload
        )
    except DataError:
        reason = f"{reason}; {UNSTORABLE}"
        stored, _ = rawevent_store_webhook(
            source=source, event=event, delivery_id=delivery_id, payload=_as_text(body)
        )
    RawEvent.objects.filter(pk=stored.pk).update(status=RawEvent.Status.FAILED, error=reason)
    http_status = 202 if source.kind in MONITORING_KINDS else 422
    return _answer(
        http_status,
        status="rejected",
        detail=f"Unexpected payload: {reason}",
        delivery=stored.delivery_id,
    )


def _as_text(body: bytes) -> dict:
    """A body kept as text, for a delivery that is not a JSON object (NULs dropped: jsonb)."""
    return {"body": body.decode(errors="replace").replace("\x00", "")[:10_000]}


def _enqueue(task, raw_event_id: int) -> None:
    """Queue normalisation; if the broker is down the delivery stays stored and pending, and
    the sweeper queues it once the broker is back. Accepting it is what matters now."""
    try:
        task.delay([raw_event_id])
    except Exception:
        logger.warning("broker unavailable; raw event %s left for the sweeper", raw_event_id)
