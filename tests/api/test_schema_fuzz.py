"""Schemathesis against the OpenAPI schema, in-process, as an admin with a real token, on a
database with data (issue 10, "Bad input"; ECOSYSTEM.md C7 row 4).

Two passes, both bounded and derandomized so they run on every ``make test``:

- every operation with generated input, valid and invalid (``RANDOM_EXAMPLES`` each): path
  parameters are mostly made up, so this mostly meets 404s on detail routes;
- every operation with path parameters again, on the real objects of the data set (the first
  one its list shows), with valid generated input (``REAL_ID_EXAMPLES`` each).

Every response must be documented (status code, content type, headers) and match its schema,
and no response may be a 5xx. Data: the demo organisation without its year of history, plus
one recorded delivery per webhook kind (runs, jobs, incidents), all loaded once per module.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pipelines import demo_process
from pipelines.ingest import rawevents_process
from pipelines.models import RawEvent
from portal import demo as portal_demo
from portal.models import Role, Team
from portal.wsgi import application
from tests.factories import MembershipFactory, ServiceFactory, UserFactory, deploy_daily
from tests.reliability.webhook_corpus_kinds import KINDS, source_for

RANDOM_EXAMPLES = 6
REAL_ID_EXAMPLES = 3
# Not positive_data_acceptance: a schema-valid name can still be taken already, and that 400
# is right. Not the stateful checks (use_after_free, ensure_resource_availability): they need
# the run's history of earlier calls, which a per-operation test does not keep.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DEMO_PARTS = ["reporting", "maturity", "training", "poc", "roadmap"]

# Loaded eagerly from the same generator that serves /api/schema/ (schemathesis' lazy
# fixture loader does not work with pytest 9).
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
WITH_PATH_PARAMETERS = [op for op in OPERATIONS if "{" in op.path]
ran = Counter()  # cases per pass, printed by the last test of the module


def _load_world() -> str:
    """The data set; returns the fuzzing admin's token."""
    from importlib import import_module

    portal_demo.load()
    demo_process.load()
    for app in DEMO_PARTS:
        import_module(f"{app}.demo").load()
    import_module("pipelines.demo_support").load()
    import_module("reporting.demo_slos").load()
    admin = UserFactory(username="fuzz-admin")
    MembershipFactory(user=admin, team=None, role=Role.ADMIN)
    deploy_daily(ServiceFactory(team=Team.objects.order_by("slug").first()), 3)
    client = Client()
    for kind in KINDS.values():
        source = source_for(kind, admin)
        body = kind.body()
        client.generic(
            "POST",
            f"/webhooks/{kind.name}/{source.slug}/",
            body,
            content_type="application/json",
            **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in kind.headers(body).items()},
        )
    rawevents_process(ids=list(RawEvent.objects.values_list("id", flat=True)))
    return Token.objects.create(user=admin).key


@contextmanager
def _requests_keep_the_connection():
    """As Django's test client does: a request must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Load the data once for the module, inside a transaction rolled back at the end; print
    what the module ran once it is done."""
    with django_db_blocker.unblock(), transaction.atomic(), _requests_keep_the_connection():
        started = time.monotonic()
        token = _load_world()
        real_ids = {op.path: real_path_parameters(op.path, token) for op in WITH_PATH_PARAMETERS}
        yield token, real_ids
        transaction.set_rollback(True)
    operations = {key[1] for key in ran if isinstance(key, tuple) and key[0] == "operation"}
    real = {
        key[1]
        for key, n in ran.items()
        if isinstance(key, tuple) and key[0] == "with real ids" and n
    }
    print(
        f"\nschema fuzz: {len(OPERATIONS)} operations; {len(operations)} fuzzed with "
        f"{ran['random']} generated cases; {len(real)} of {len(WITH_PATH_PARAMETERS)} detail "
        f"operations on real objects with {ran['real-id']} cases; {ran['5xx']} 5xx, "
        f"{ran['violations']} failing cases; {time.monotonic() - started:.0f} s"
    )


@pytest.fixture
def token(world, db) -> str:
    return world[0]


@pytest.fixture
def real_ids(world) -> dict[str, dict | None]:
    return world[1]


@pytest.fixture(autouse=True)
def _keep_test_connection_open():
    with _requests_keep_the_connection():
        yield


def call_and_validate(case, token: str, checks) -> None:
    """Call and check, counting what fails for the module's summary line."""
    response = case.call(headers={"Authorization": f"Token {token}"})
    ran["5xx"] += response.status_code >= 500
    try:
        case.validate_response(response, checks=checks)
    except BaseException:  # schemathesis' FailureGroup is a BaseExceptionGroup
        ran["violations"] += 1
        raise


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,  # the same examples every run: CI stays reproducible
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@schema.parametrize()
@fuzz_settings(RANDOM_EXAMPLES)
def test_no_input_gets_a_server_error_or_breaks_the_schema(case, token):
    ran["random"] += 1
    ran[("operation", case.operation.label)] += 1
    call_and_validate(case, token, [*CHECKS, negative_data_rejection])


def _lookup_value(item: dict, parameter: str):
    """The value a list item gives a path parameter: ``slug`` from ``slug``, ``roadmap_slug``
    and ``roadmap_id`` from ``slug`` and ``id``."""
    for field in (parameter, parameter.rpartition("_")[2], "slug", "id", "key", "pk"):
        if field in item:
            return item[field]
    return None


def real_path_parameters(path: str, token: str) -> dict | None:
    """Fill each ``{parameter}`` of ``path`` from the first item of the list before it."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    values: dict = {}
    for match in re.finditer(r"\{(\w+)\}", path):
        list_path = path[: match.start()].format(**values)
        response = client.get(list_path, {"page_size": 1})
        if response.status_code != 200:
            return None
        data = response.json()
        items = data.get("results", []) if isinstance(data, dict) else data
        if not items or _lookup_value(items[0], match.group(1)) is None:
            return None
        values[match.group(1)] = _lookup_value(items[0], match.group(1))
    return values


@pytest.mark.parametrize("operation", WITH_PATH_PARAMETERS, ids=lambda op: op.label)
@fuzz_settings(REAL_ID_EXAMPLES)
@given(data=st.data())
def test_real_objects_answer_within_the_schema(operation, token, real_ids, data):
    # None: a path with no list to take an object from; then made-up values, as in the first pass
    parameters = real_ids[operation.path]
    ran["real-id"] += 1
    strategy = operation.as_strategy(path_parameters=parameters)
    case = data.draw(strategy)
    call_and_validate(case, token, CHECKS)
    ran[("with real ids", operation.label)] += bool(parameters)


def test_every_operation_of_the_schema_is_fuzzed():
    """Counted from the schema document itself, not from schemathesis' own list."""
    document = schema.raw_schema
    methods = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
    declared = [(path, m) for path, item in document["paths"].items() for m in item if m in methods]

    assert len(OPERATIONS) == len(declared) > 100
    assert {(op.path, op.method.lower()) for op in OPERATIONS} == set(declared)
