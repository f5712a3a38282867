"""The SSRF guard (portal.outbound): URLs users set that reach private, loopback, link-local,
multicast, reserved or unspecified addresses are refused when saved (API, form, service) and
again when connected to, so a source saved while allowed, or a name that resolves elsewhere
later, gets nowhere. A documented setting (and an allowlist of networks) lets them through.

The suite allows private addresses (its fake CI servers listen on loopback); these tests turn
that off with the ``settings`` fixture, as production settings do by default."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipelines import services
from pipelines.connectors.http import ConnectorError, SourceHttp
from pipelines.models import CISource, SyncRun
from pipelines.sync import source_sync
from portal import outbound
from portal.exceptions import ApplicationError
from reporting.alerts import notifications_send
from reporting.models import Alert, AlertNotification, AlertRule
from reporting.slos.prometheus import PrometheusError, client_for, query_range
from tests.pipelines.conftest import GITLAB_PROJECT
from tests.processes import process_env

# {port}: the loopback fake CI server's port, so a request that slipped through would be seen.
HOSTILE = [
    "http://127.0.0.1:{port}/api/v4/",
    "http://localhost:{port}/api/v4/",  # a name: resolved, then checked
    "http://[::1]:{port}/api/v4/",
    "http://0.0.0.0:{port}/api/v4/",  # Linux connects this to loopback
    "http://[::]:{port}/api/v4/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata service
    "http://[fe80::1]/api/v4/",
    "http://10.0.0.5/api/v4/",
    "http://172.16.0.1/api/v4/",
    "http://192.168.1.1/api/v4/",
    "http://100.64.0.1/api/v4/",  # carrier-grade NAT, not public
    "http://[fc00::1]/api/v4/",
    "http://[::ffff:127.0.0.1]:{port}/api/v4/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/api/v4/",  # 169.254.169.254, mapped and in hex
    "http://2130706433:{port}/api/v4/",  # 127.0.0.1 in decimal
    "http://0x7f000001:{port}/api/v4/",  # ... in hex
    "http://017700000001:{port}/api/v4/",  # ... in octal
    "http://127.1:{port}/api/v4/",  # ... shortened
    "http://224.0.0.1/api/v4/",  # multicast
    "http://240.0.0.1/api/v4/",  # reserved
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
]
REPOSITORIES = [{"name": GITLAB_PROJECT, "service": "cart-api"}]


@pytest.fixture
def guard_on(settings):
    """Production's default: no private addresses, no allowed networks."""
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


@pytest.fixture
def second_loopback():
    """A server on 127.0.0.2: an allowlist can admit it while 127.0.0.1 stays refused."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def form_data(base_url: str) -> dict:
    return {
        "kind": "gitlab",
        "name": "Hostile",
        "base_url": base_url,
        "token": "glpat-secret",
        "repositories": f"{GITLAB_PROJECT} = cart-api",
        "poll_interval_seconds": "300",
        "backfill_days": "90",
        "deployment_pattern": "(?i)deploy",
        "incident_label": "incident",
    }


def refused_at_save(url: str, *, ada, api, browser) -> list[str]:
    """How each way of saving ``url`` failed to refuse it (empty: all three refused it)."""
    misses = []
    answer = api.post(
        "/api/v1/ci-sources/",
        {"kind": "gitlab", "name": "Hostile", "base_url": url, "repositories": REPOSITORIES},
        format="json",
    )
    if answer.status_code != 400 or "base_url" not in answer.json():
        misses.append(f"API answered {answer.status_code}")
    page = browser.post("/sources/new/", form_data(url))
    if page.status_code != 200 or "base_url" not in page.context["form"].errors:
        misses.append(f"form answered {page.status_code} without a base_url error")
    # The service itself, below the form's and serializer's URL syntax checks: the guard.
    try:
        services.source_create(
            actor=ada, kind="gitlab", name="Hostile", base_url=url, repositories=REPOSITORIES
        )
        misses.append("the service saved it")
    except ApplicationError as error:
        if "base_url" not in error.extra:
            misses.append(f"the service refused it without a base_url error: {error.extra}")
    if CISource.objects.filter(name="Hostile").exists():
        misses.append("a source was saved")
    return misses


def refused_at_fetch(source: CISource, url: str, httpserver) -> list[str]:
    """Sync ``source`` with ``url`` written straight to its row (saved before the policy
    changed); how that failed to be refused (empty: refused, readably, nothing sent)."""
    CISource.objects.filter(pk=source.pk).update(base_url=url, sync_state={})
    sync_run = source_sync(source_id=source.pk, trigger="command")
    source.refresh_from_db()
    said = f"{sync_run.message} {json.dumps(source.repository_errors)}"
    misses = []
    if sync_run.status != SyncRun.Status.FAILED:
        misses.append(f"sync {sync_run.status}")
    if "refused to connect" not in said and "must be http(s)" not in said:
        misses.append(f"no readable refusal: {said[:200]}")
    if httpserver.log:
        misses.append(f"{len(httpserver.log)} request(s) reached the loopback server")
        httpserver.clear_log()
    return misses


def test_every_hostile_url_is_refused_at_save_and_at_fetch(
    org, service, guard_on, httpserver, api_client_for, client_for
):
    ada = org.users["ada"]
    api, browser = api_client_for(ada), client_for("ada")
    urls = [url.format(port=httpserver.port) for url in HOSTILE]

    save_misses = {url: refused_at_save(url, ada=ada, api=api, browser=browser) for url in urls}

    guard_on.OUTBOUND_ALLOW_PRIVATE_HOSTS = True  # saved while allowed (self-hosted CI) ...
    source = services.source_create(
        actor=ada,
        kind="gitlab",
        name="Saved earlier",
        base_url=httpserver.url_for("/api/v4/"),
        repositories=REPOSITORIES,
    )
    guard_on.OUTBOUND_ALLOW_PRIVATE_HOSTS = False  # ... then the policy (or the DNS) changed
    fetch_misses = {url: refused_at_fetch(source, url, httpserver) for url in urls}

    assert {url: m for url, m in save_misses.items() if m} == {}
    assert {url: m for url, m in fetch_misses.items() if m} == {}
    at_save = sum(not misses for misses in save_misses.values())
    at_fetch = sum(not misses for misses in fetch_misses.values())
    print(f"\n{len(urls)} hostile URLs: {at_save} refused at save, {at_fetch} at fetch")


def test_the_refusal_says_what_the_address_is_and_how_to_allow_it(org, service, guard_on):
    with pytest.raises(ApplicationError) as caught:
        services.source_create(
            actor=org.users["ada"],
            kind="jenkins",
            name="Jenkins",
            base_url="http://2130706433:8080/",
            repositories=REPOSITORIES,
        )

    (message,) = caught.value.extra["base_url"]
    assert "2130706433 resolves to 127.0.0.1, which is a loopback address" in message
    assert "FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS" in message
    assert "FLIGHTDECK_OUTBOUND_ALLOWED_NETWORKS" in message


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(
    guard_on, second_loopback, httpserver
):
    guard_on.OUTBOUND_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.2/32")]
    inside = httpserver.url_for("/internal")
    redirect = Response(status=302, headers={"Location": inside})
    second_loopback.expect_request("/go").respond_with_response(redirect)

    # A client that follows redirects: each hop is a new connection, checked again.
    with pytest.raises(outbound.OutboundRefused, match=r"127\.0\.0\.1 is a loopback address"):
        outbound.guarded_session().get(second_loopback.url_for("/go"), timeout=5)
    # The connectors never follow it (another origin), whatever the settings.
    with pytest.raises(ConnectorError, match="redirects to another host") as caught:
        SourceHttp(second_loopback.url_for("/"), retries=0).get("go")

    assert caught.value.permanent is True
    assert len(second_loopback.log) == 2
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("allow_private", "networks"),
    [(True, []), (False, ["127.0.0.0/8"]), (False, ["10.0.0.0/8", "127.0.0.1/32"])],
    ids=["private-allowed", "loopback-network-allowed", "one-address-allowed"],
)
def test_a_private_server_is_used_when_the_settings_allow_it(
    org, service, settings, httpserver, allow_private, networks
):
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = allow_private
    settings.OUTBOUND_ALLOWED_NETWORKS = [ipaddress.ip_network(n) for n in networks]
    httpserver.expect_request("/api/json").respond_with_json({"jobs": []})

    source = services.source_create(
        actor=org.users["ada"],
        kind="jenkins",
        name="Jenkins",
        base_url=httpserver.url_for("/"),
        repositories=REPOSITORIES,
    )

    assert SourceHttp(source.base_url, retries=0).get_json("api/json") == {"jobs": []}
    assert len(httpserver.log) == 1


def test_an_allowlist_admits_only_its_networks(guard_on, httpserver):
    guard_on.OUTBOUND_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]

    assert outbound.url_problem("http://10.20.30.40/") is None
    assert "loopback" in outbound.url_problem(httpserver.url_for("/"))
    with pytest.raises(ConnectorError, match="refused to connect") as caught:
        SourceHttp(httpserver.url_for("/"), retries=0).get("api/json")
    assert caught.value.permanent is True
    assert httpserver.log == []


def test_chat_webhook_urls_are_refused_at_save(org, service, guard_on, api_client_for):
    rule = AlertRule(
        name="CFR",
        kind=AlertRule.Kind.DORA,
        metric=AlertRule.Metric.CHANGE_FAILURE_RATE,
        threshold=20,
        webhook_url="http://169.254.169.254/latest/meta-data/",
    )
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert "link-local" in caught.value.message_dict["webhook_url"][0]

    body = {"service": "cart-api", "name": "Availability", "objective": 99.9}
    slo = api_client_for(org.users["lee"]).post(
        "/api/v1/slos/", {**body, "webhook_url": "http://[::1]:9/hook"}, format="json"
    )
    assert slo.status_code == 400
    assert "loopback" in json.dumps(slo.json()["webhook_url"])


def test_a_chat_webhook_saved_earlier_is_refused_when_sent(service, guard_on, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    rule = AlertRule.objects.create(  # written while allowed: no clean() now
        name="CFR",
        kind=AlertRule.Kind.DORA,
        metric=AlertRule.Metric.CHANGE_FAILURE_RATE,
        threshold=20,
        webhook_url=httpserver.url_for("/hook"),
    )
    alert = Alert.objects.create(
        rule=rule, subject="scope", message="CFR 30%", opened_at=timezone.now()
    )
    AlertNotification.objects.create(
        alert=alert, event=AlertNotification.Event.FIRING, channel=AlertNotification.Channel.WEBHOOK
    )

    assert notifications_send() == (0, 1)
    notification = AlertNotification.objects.get()
    assert "127.0.0.1 is a loopback address" in notification.last_error
    assert httpserver.log == []


def test_a_prometheus_query_is_refused_readably(org, service, settings, httpserver, make_source):
    source = make_source("prometheus", base_url=httpserver.url_for("/"))
    settings.OUTBOUND_ALLOW_PRIVATE_HOSTS = False

    with pytest.raises(PrometheusError, match=r"refused to connect.*loopback"):
        query_range(client_for(source), "up", start=time.time() - 600, end=time.time(), step=60)
    assert httpserver.log == []


def _settings_in_a_new_process(**env: str) -> subprocess.CompletedProcess:
    code = "import portal.settings as s; print(s.OUTBOUND_ALLOW_PRIVATE_HOSTS)"
    drop = frozenset({"FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS", *env})
    return subprocess.run(
        [sys.executable, "-c", code],
        env=process_env(drop=drop, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION = {
    "DATABASE_URL": "postgres://flightdeck@db.example.com/flightdeck",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({}, "True"),  # the embedded servers (make run, the suite): local CI works
        (PRODUCTION, "False"),  # servers named by DATABASE_URL / REDIS_URL: production
        ({**PRODUCTION, "FLIGHTDECK_ALLOW_PRIVATE_CI_HOSTS": "true"}, "True"),
    ],
    ids=["embedded", "production", "production-allowed"],
)
def test_private_addresses_are_allowed_by_default_only_on_the_embedded_servers(env, allowed):
    answer = _settings_in_a_new_process(**env)

    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == allowed


def test_a_malformed_allowlist_stops_start_up_naming_the_variable():
    answer = _settings_in_a_new_process(FLIGHTDECK_OUTBOUND_ALLOWED_NETWORKS="10.0.0.0/8,intranet")

    assert answer.returncode != 0
    assert "FLIGHTDECK_OUTBOUND_ALLOWED_NETWORKS must be CIDR blocks" in answer.stderr
    assert "'intranet'" in answer.stderr
