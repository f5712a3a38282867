"""Structured logs: every line JSON, every line with the request id (or the task's), end to end."""

from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
import redis
from celery import shared_task
from django.conf import settings as django_settings
from django.db import connection

from pipelines.models import CISource
from portal.celery import REQUEST_ID_HEADER as TASK_HEADER
from portal.observability import context
from tests.processes import manage, process_env


@pytest.fixture
def json_logs():
    """The project's LOGGING with LOG_FORMAT=json, written to a buffer; returns a reader that
    parses every line (so one line that is not JSON fails the test)."""
    stream = io.StringIO()
    config = copy.deepcopy(django_settings.LOGGING)
    config["handlers"]["console"].update(formatter="json", stream=stream)
    logging.config.dictConfig(config)
    yield lambda: [orjson.loads(line) for line in stream.getvalue().splitlines()]
    logging.config.dictConfig(django_settings.LOGGING)


def _lines_of(lines: list[dict], logger: str) -> list[dict]:
    return [line for line in lines if line["logger"] == logger]


def test_a_request_id_from_the_header_is_echoed_and_on_every_line(client_for, json_logs):
    response = client_for("mo").get("/no/such/page/", HTTP_X_REQUEST_ID="edge-7f3a.B_9")

    lines = json_logs()
    assert response.status_code == 404
    assert response["X-Request-ID"] == "edge-7f3a.B_9"
    # Ours (one per request) and Django's (its 404 warning comes after the middleware chain).
    request_line, = _lines_of(lines, "flightdeck.requests")  # fmt: skip
    not_found, = _lines_of(lines, "django.request")  # fmt: skip
    assert request_line["request_id"] == not_found["request_id"] == "edge-7f3a.B_9"
    assert request_line["message"] == "GET /no/such/page/ 404"
    assert (request_line["route"], request_line["status"]) == ("<unmatched>", 404)
    assert not_found["level"] == "WARNING"
    assert set(request_line) >= {"ts", "level", "logger", "message", "request_id"}
    assert request_line["ts"].endswith("+00:00")


@pytest.mark.parametrize(
    "given",
    ["a" * 65, "two words", "line\nbreak", 'quote"d', "", "ünïcode"],
    ids=["too-long", "space", "newline", "quote", "empty", "non-ascii"],
)
def test_an_insane_request_id_is_replaced_by_a_fresh_one(db, client, json_logs, given):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    made_up = response["X-Request-ID"]
    assert made_up != given and len(made_up) == 32 and int(made_up, 16) >= 0
    assert _lines_of(json_logs(), "flightdeck.requests")[0]["request_id"] == made_up


def test_each_request_gets_its_own_id_and_none_is_left_bound_after(db, client, json_logs):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    logging.getLogger("tests.after").warning("between requests")

    assert first != second
    assert _lines_of(json_logs(), "tests.after")[0]["request_id"] == "-"


def test_a_traceback_and_a_forged_line_stay_inside_one_json_object(json_logs):
    token = context.bind_request_id("req-1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("tests.boom").exception('sync failed\n{"level": "INFO"}')
    finally:
        context.request_id.reset(token)

    line, = json_logs()  # fmt: skip
    assert line["message"] == 'sync failed\n{"level": "INFO"}'
    assert line["level"] == "ERROR" and line["request_id"] == "req-1"
    assert "ValueError: boom" in line["exc_info"]


# --- Celery ------------------------------------------------------------------------------------


@shared_task
def _log_inside_a_task() -> None:
    logging.getLogger("tests.task").info("inside")


def test_a_task_logs_with_its_own_id_when_no_request_queued_it(json_logs):
    result = _log_inside_a_task.apply()

    line, = _lines_of(json_logs(), "tests.task")  # fmt: skip
    assert line["request_id"] == line["task_id"] == result.id


def test_a_task_queued_by_a_request_logs_with_that_request_id(json_logs):
    result = _log_inside_a_task.apply(headers={TASK_HEADER: "web-req-42"})

    line, = _lines_of(json_logs(), "tests.task")  # fmt: skip
    assert (line["request_id"], line["task_id"]) == ("web-req-42", result.id)
    assert context.current_request_id() is None and context.task_id.get() is None


def test_a_sync_started_from_the_page_carries_the_request_id_in_its_message(
    transactional_db, client_for
):
    # Committed for real, so the task is sent while the request runs, as in production.
    source = CISource.objects.create(kind=CISource.Kind.GITHUB, name="GitHub", slug="gh")
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    broker.delete("poll")

    response = client_for("lee").post(
        f"/sources/{source.slug}/sync/", HTTP_X_REQUEST_ID="click-sync-1"
    )

    assert response.status_code == 302
    messages = [json.loads(raw) for raw in broker.lrange("poll", 0, -1)]
    broker.delete("poll")
    assert [m["headers"]["task"] for m in messages] == ["pipelines.tasks.source_sync_task"]
    assert messages[0]["headers"][TASK_HEADER] == "click-sync-1"


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def test_a_real_worker_logs_json_with_the_carried_request_id(db, tmp_path):
    """A Celery worker process reads the header from the message (not from .headers as an
    eager run does) and its own lines, Celery's included, come out as JSON."""
    from pipelines.tasks import rawevents_process_task

    queue = f"obs-{uuid.uuid4().hex[:8]}"
    token = context.bind_request_id("web-req-worker")
    try:
        sent = rawevents_process_task.apply_async(args=[[]], queue=queue)
    finally:
        context.request_id.reset(token)
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--queues", queue,
             "--pool", "solo", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=django_settings.BASE_DIR,
            # The test database (its tables exist; the claim of no ids touches no row).
            env=process_env(LOG_FORMAT="json", DATABASE_URL=_test_database_url()),
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            if (
                f"{sent.id}] succeeded" in log.read_text()
                or f"{sent.id}] raised" in log.read_text()
            ):
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    text = log.read_text()
    parsed = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    done = [p for p in parsed if p.get("task_id") == sent.id and "succeeded" in p["message"]]
    assert done, text[-3000:]
    assert done[0]["request_id"] == "web-req-worker"
    assert done[0]["logger"] == "celery.app.trace"


def test_an_unknown_log_format_stops_start_up_with_its_name():
    result = manage("check", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be json or plain, got 'xml'" in result.stderr
