"""A canary token stored in a source of every kind must not come back from any API answer,
page, admin view, export, log line, error report or stored error (DevLake leaked tokens
through endpoints nobody thought of: test them all, ECOSYSTEM C7-11).

The world is the demo organisation (so every list has rows and every detail route an object)
with the canary as the token and webhook secret of every source, plus one source of each kind
that the demo lacks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.debug import ExceptionReporter

from pipelines import services
from pipelines.connectors.base import Repository
from pipelines.connectors.http import ConnectorError
from pipelines.models import CISource, RawEvent, SyncRun
from pipelines.sync import POLLED_KINDS, _build_connector, source_sync
from pipelines.tasks import source_sync_task
from portal.models import Service
from portal.urls import api_router
from reporting.slos.prometheus import PrometheusError, client_for, query_range
from tests.pipelines.canary import (
    ALL_KINDS,
    CANARY,
    around_canary,
    canary_found,
    echo_credentials,
    token_for,
    webhook_secret_for,
)
from tests.portal.routes import admin_user, all_routes, browser_paths, demo_world_load

SCANNED = {"responses": 0, "pages": 0, "log lines": 0, "error reports": 0}


@pytest.fixture(scope="module", autouse=True)
def _print_the_figure() -> Iterator[None]:
    """After the module's tests, in whatever order they ran: the figure for docs/reliability.md."""
    yield
    print(
        f"\n{SCANNED['responses']} responses, {SCANNED['pages']} pages, "
        f"{SCANNED['log lines']} log lines, {SCANNED['error reports']} error reports scanned: "
        f"0 canaries"
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo, every source holding the canary, one more source of each kind; rolled back."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_world_load()
        actor = admin_user()
        service = Service.objects.order_by("slug").first()
        for kind in ALL_KINDS:
            services.source_create(
                actor=actor,
                kind=kind,
                name=f"Canary {kind}",
                slug=f"canary-{kind}",
                base_url="http://127.0.0.1:9/",
                repositories=[{"name": "acme/canary", "service": service.slug}],
                is_active=False,
            )
        for source in CISource.objects.exclude(kind__in=CISource.BUILT_IN_KINDS):
            services.source_update(
                actor=actor,
                source=source,
                data={
                    "token": token_for(source.kind),
                    "webhook_secret": webhook_secret_for(source.kind),
                },
            )
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def ada(world, db):
    client = Client()
    client.force_login(admin_user())
    return client


def _scan(response, path: str, what: str) -> int:
    # The health pages answer 503 here: no Celery worker runs beside the tests.
    assert response.status_code < 500 or path in {"/healthz", "/health/"}, path
    content = response.getvalue() if response.streaming else response.content
    assert not canary_found(content, response.get("Content-Type", "")), f"canary in {path}"
    SCANNED[what] += 1
    return response.status_code


# --- API ------------------------------------------------------------------------------------


def _api_paths(client) -> list[str]:
    """Every GET route of the API: each list, the detail of its first row, each GET action
    (list-level and on that row), and the API views outside the router."""
    paths, routed = [], set()
    for prefix, viewset, basename in api_router.registry:
        kwargs = {}
        if "(?P<roadmap_slug>" in prefix:
            kwargs["roadmap_slug"] = client.get("/api/v1/roadmaps/").json()["results"][0]["slug"]
        list_path = reverse(f"{basename}-list", kwargs=kwargs)
        rows = client.get(list_path).json()
        rows = rows["results"] if isinstance(rows, dict) else rows
        assert rows, f"{list_path} is empty: the crawl would miss its detail route"
        # The URL's name for the row ("key"), its field ("slug", "service__slug"), or "id".
        lookup = viewset.lookup_url_kwarg or viewset.lookup_field
        row = rows[0]
        row_value = row.get(lookup, row.get(viewset.lookup_field.split("__")[0], row.get("id")))
        detail = {**kwargs, lookup: row_value}
        paths += [list_path, reverse(f"{basename}-detail", kwargs=detail)]
        for extra in viewset.get_extra_actions():
            if "get" in extra.mapping:
                paths.append(
                    reverse(
                        f"{basename}-{extra.url_name}", kwargs=detail if extra.detail else kwargs
                    )
                )
        routed.add(basename)
    for route, pattern in all_routes():
        if not route.startswith("api/") or pattern.name is None:
            continue
        if pattern.name.split("-")[0] in routed or pattern.name == "api-root":
            continue
        try:
            paths.append(reverse(pattern.name))
        except NoReverseMatch:  # takes a service's slug
            paths.append(reverse(pattern.name, kwargs={"slug": Service.objects.first().slug}))
    return paths


def test_no_api_answer_shows_the_canary(ada):
    paths = _api_paths(ada)
    exports = ["/api/v1/radar/export/?format=byor-csv", "/api/v1/radar/export/?format=json"]
    sources = [
        f"/api/v1/ci-sources/{source.slug}/"
        for source in CISource.objects.exclude(kind__in=CISource.BUILT_IN_KINDS)
    ]
    for path in [*paths, *exports, *sources, "/api/v1/"]:
        _scan(ada.get(path), path, "responses")
    assert len(paths) >= 2 * len(api_router.registry)  # each list and a detail, at least
    assert len(sources) >= len(ALL_KINDS)


# --- pages, admin, exports ---------------------------------------------------------------------


def _admin_paths() -> list[str]:
    paths = []
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        first = model.objects.order_by("pk").first()
        if first is not None:
            paths.append(
                reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            )
    for source in CISource.objects.all():
        paths.append(reverse("admin:pipelines_cisource_change", args=[source.pk]))
    return paths


def test_no_page_admin_view_or_download_shows_the_canary(ada):
    pages = browser_paths()
    pages += [f"/sources/{s.slug}/" for s in CISource.objects.all()]
    pages += [f"/sources/{s.slug}/edit/" for s in CISource.objects.all()]
    statuses = [_scan(ada.get(path), path, "pages") for path in pages + _admin_paths()]
    assert len(pages) >= 80
    # Shown, not redirected away: POST-only routes answer 405, the health pages 503.
    assert statuses.count(200) >= 0.9 * len(statuses), sorted(set(statuses))


# --- logs, stored errors, error reports --------------------------------------------------------


@pytest.fixture
def echo_sources(world, db, httpserver) -> dict[str, CISource]:
    """A source of each kind pointed at the echoing server."""
    httpserver.expect_request("").respond_with_handler(echo_credentials)
    service = Service.objects.order_by("slug").first()
    return {
        kind: services.source_create(
            actor=admin_user(),
            kind=kind,
            name=f"Echo {kind}",
            slug=f"echo-{kind}",
            base_url=httpserver.url_for("/"),
            token=token_for(kind),
            webhook_secret=webhook_secret_for(kind),
            repositories=[{"name": "acme/canary", "service": service.slug}],
        )
        for kind in ALL_KINDS
    }


WRONG_SIGNATURES = {
    "github": {"X-GitHub-Event": "workflow_run", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    "gitlab": {"X-Gitlab-Event": "Pipeline Hook", "X-Gitlab-Token": "wrong"},
    "jenkins": {"X-Flightdeck-Signature": "sha256=" + "0" * 64},
    "alertmanager": {"Authorization": "Bearer wrong"},
    "pagerduty": {"X-PagerDuty-Signature": "v1=" + "0" * 64},
    "opsgenie": {"X-Flightdeck-Token": "wrong"},
}


def test_failing_syncs_webhooks_and_queries_log_and_store_no_canary(echo_sources, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    caplog.set_level(logging.DEBUG)
    stored: list[str] = []

    for kind, source in echo_sources.items():
        if kind in POLLED_KINDS:
            # The Celery task path: a 401 with the credentials echoed back in its body.
            run = SyncRun.objects.create(source=source, trigger="poll")
            source_sync_task.delay(source.pk, run.pk)
            run.refresh_from_db()
            source.refresh_from_db()
            assert run.status == SyncRun.Status.FAILED, (kind, run.message)
            stored += [run.message, source.last_error, str(source.repository_errors)]
        headers = {
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in WRONG_SIGNATURES.get(kind, {}).items()
        }
        response = Client().post(
            f"/webhooks/{kind}/{source.slug}/",
            b'{"a": 1}',
            content_type="application/json",
            **headers,
        )
        _scan(response, f"webhook {kind}", "responses")
    # A foreground sync that fails for good (the command path keeps the message).
    run = source_sync(source_id=echo_sources["gitlab"].pk, trigger="command")
    stored.append(run.message)
    # Prometheus, queried by SLOs: its error text is shown on the SLO page.
    with pytest.raises(PrometheusError) as refused:
        query_range(client_for(echo_sources["prometheus"]), "up", start=0, end=60, step=15)
    stored.append(str(refused.value))
    stored += list(RawEvent.objects.values_list("error", flat=True))

    assert [around_canary(text) for text in stored if canary_found(text)] == []
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    lines = [formatter.format(record) for record in caplog.records]
    assert [around_canary(line) for line in lines if canary_found(line)] == []
    assert len(lines) >= 10
    SCANNED["log lines"] += len(lines)


def _fail_holding_the_token(source: CISource) -> None:
    """A frame as a careless connector would leave it: the token in locals of every shape,
    one of them under a name that does not look secret."""
    token = source.get_token()
    material = token
    outgoing = {
        "headers": {"Authorization": f"Bearer {material}"},
        "url": f"{source.base_url}api/v4/projects?private_token={token}",
    }
    raise ConnectorError(f"{outgoing['url'].split('?')[0]} answered 500")  # a clean message


def _reports(request, exc_info) -> list[str]:
    reporter = ExceptionReporter(request, *exc_info)
    return [reporter.get_traceback_text(), reporter.get_traceback_html()]


def test_error_reports_hide_the_canary_in_frames_and_request_headers(echo_sources):
    request = RequestFactory().post(
        "/webhooks/gitlab/echo-gitlab/",
        {"token": CANARY},
        HTTP_AUTHORIZATION=f"Bearer {CANARY}",
        HTTP_X_GITLAB_TOKEN=webhook_secret_for("gitlab"),
    )
    reports = []
    for kind, source in echo_sources.items():
        try:
            _fail_holding_the_token(source)
        except ConnectorError:
            reports += _reports(request, sys.exc_info())
        if kind in POLLED_KINDS:
            # A real connector's frames, failing against the echoing server.
            connector, _http = _build_connector(source, {})
            repository = Repository(name="acme/canary", service="cart")
            since = timezone.now() - timedelta(days=30)
            try:
                list(connector.fetch(repository, state={}, since=since, full=True))
            except ConnectorError:
                reports += _reports(request, sys.exc_info())
            else:
                pytest.fail(f"{kind}: the echoing server's 401 did not fail the fetch")

    assert [around_canary(report) for report in reports if canary_found(report)] == []
    assert len(reports) >= 2 * len(ALL_KINDS)
    SCANNED["error reports"] += len(reports)
