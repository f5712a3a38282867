"""Rules are evaluated "after each sync": normalising webhook deliveries and finishing a sync
queue ``policies_evaluate_task`` (on commit) with the services touched; beat runs it every 15
minutes as a safety net. Celery is not eager in tests, so ``delay`` is replaced by a recorder
that runs the task in-process."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from kombu.exceptions import OperationalError

from pipelines import tasks
from pipelines.ingest import rawevents_process
from pipelines.models import PipelineRun, RawEvent, RuleResult
from pipelines.sync import source_sync
from tests.factories import ServiceFactory
from tests.pipelines.conftest import GITLAB_PROJECT, recorded
from tests.pipelines.test_sync import serve_project

PIPELINE_HOOK = recorded("gitlab", "webhook-pipeline-hook.go-gitlab.json")


@pytest.fixture
def queued(monkeypatch):
    """The service ids of each evaluation queued; each is run at once, as a worker would."""
    calls = []

    def delay(service_ids=None):
        calls.append(service_ids)
        tasks.policies_evaluate_task(service_ids)

    monkeypatch.setattr(tasks.policies_evaluate_task, "delay", delay)
    return calls


def test_normalised_webhook_deliveries_queue_an_evaluation_of_their_services(
    org, policy, service, make_source, queued, django_capture_on_commit_callbacks
):
    ServiceFactory(team=org.mobile, slug="untouched")
    project = PIPELINE_HOOK["project"]["path_with_namespace"]
    source = make_source("gitlab", repositories=[{"name": project, "service": service.slug}])
    Client().generic(
        "POST",
        f"/webhooks/gitlab/{source.slug}/",
        json.dumps(PIPELINE_HOOK).encode(),
        content_type="application/json",
        HTTP_X_GITLAB_TOKEN="s3cret",
        HTTP_X_GITLAB_EVENT="Pipeline Hook",
    )

    with django_capture_on_commit_callbacks(execute=True):
        counts = rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))

    assert counts["processed"] == 1 and PipelineRun.objects.filter(service=service).exists()
    assert queued == [[service.pk]], "only the service the delivery was about"
    assert set(RuleResult.objects.values_list("service__slug", flat=True)) == {"cart-api"}
    assert RuleResult.objects.count() == 5


def test_an_ignored_delivery_queues_nothing(
    org, policy, service, make_source, queued, django_capture_on_commit_callbacks
):
    source = make_source("gitlab", repositories=[{"name": "acme/other", "service": service.slug}])
    RawEvent.objects.create(
        source=source, origin="webhook", kind="Pipeline Hook", delivery_id="d1",
        payload=PIPELINE_HOOK,
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))

    assert queued == []


def test_a_sync_queues_one_evaluation_at_its_end(
    org, policy, service, make_source, httpserver, queued, django_capture_on_commit_callbacks
):
    serve_project(httpserver)
    source = make_source(
        "gitlab",
        base_url=httpserver.url_for("/api/v4/"),
        backfill_days=3650,
        repositories=[{"name": GITLAB_PROJECT, "service": service.slug}],
    )

    with django_capture_on_commit_callbacks(execute=True):
        sync_run = source_sync(source_id=source.pk, trigger="command")

    assert sync_run.status == "success"
    assert queued == [[service.pk]], "once for the sync, not once per batch"
    assert RuleResult.objects.filter(service=service).count() == 5


def test_a_failed_sync_queues_nothing(
    org, policy, service, make_source, httpserver, queued, django_capture_on_commit_callbacks
):
    httpserver.expect_request(f"/api/v4/projects/{GITLAB_PROJECT}/pipelines").respond_with_json(
        {"message": "401"}, status=401
    )
    source = make_source("gitlab", base_url=httpserver.url_for("/api/v4/"))

    with django_capture_on_commit_callbacks(execute=True):
        assert source_sync(source_id=source.pk).status == "failed"

    assert queued == []


def test_a_broker_outage_leaves_the_records_stored_and_the_beat_catches_up(
    org, service, make_source, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.policies_evaluate_task, "delay", down)
    project = PIPELINE_HOOK["project"]["path_with_namespace"]
    source = make_source("gitlab", repositories=[{"name": project, "service": service.slug}])
    RawEvent.objects.create(
        source=source, origin="webhook", kind="Pipeline Hook", delivery_id="d1",
        payload=PIPELINE_HOOK,
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        counts = rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))

    assert counts["processed"] == 1
    assert "evaluated on the next beat" in caplog.text


def test_beat_evaluates_every_15_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["evaluate-policies"]
    assert entry["task"] == "pipelines.tasks.policies_evaluate_task"
    assert entry["schedule"] == 900.0


def test_the_task_evaluates_the_services_given_or_all(org, policy, service):
    other = ServiceFactory(team=org.mobile, slug="other")

    assert sum(tasks.policies_evaluate_task([other.pk]).values()) == 5
    assert set(RuleResult.objects.values_list("service_id", flat=True)) == {other.pk}
    assert sum(tasks.policies_evaluate_task().values()) == 10


def test_a_pushed_deployment_queues_an_evaluation_of_its_service(
    org, policy, service, api_client_for, queued, django_capture_on_commit_callbacks
):
    body = {
        "external_id": "deploy-41", "service": "cart-api", "environment": "Production",
        "status": "success", "started_at": "2027-03-15T10:00:00Z",
        "finished_at": "2027-03-15T10:12:00Z", "sha": "a" * 40,
    }  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(org.users["lee"]).post("/api/v1/deployments/", body)

    assert response.status_code == 201, response.content
    assert queued == [[service.pk]]
    # the pushed deployment (no run, no change) is now judged: e.g. it carries no change
    carries = RuleResult.objects.get(service=service, rule__kind="deployment_carries_changes")
    assert (carries.outcome, carries.checked) == ("fail", 1)
