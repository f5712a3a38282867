"""Fixtures shared by the HTTP client tests."""

from __future__ import annotations

import socket

import pytest
from pytest_httpserver import HTTPServer

from pipelines.connectors.http import SourceHttp

RUNS = "/repos/octo/app/actions/runs"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def waits() -> list[float]:
    """What the client asked to sleep, in order (the fake ``sleep`` appends here)."""
    return []


@pytest.fixture
def make_http(httpserver: HTTPServer, waits: list[float]):
    def make(**options) -> SourceHttp:
        return SourceHttp(httpserver.url_for("/"), sleep=waits.append, **options)

    return make


@pytest.fixture
def make_connector(httpserver: HTTPServer, waits: list[float]):
    """``make_connector(etags=, options=, base=)``: a GitHubConnector on the loopback server."""
    from pipelines.connectors.base import SourceOptions
    from pipelines.connectors.github import GitHubConnector

    def make(*, etags=None, options=None, base="/") -> GitHubConnector:
        headers, _ = GitHubConnector.auth_headers("ghp_test")
        http = SourceHttp(
            httpserver.url_for(base), headers=headers, etags=etags, sleep=waits.append
        )
        return GitHubConnector(http=http, options=options or SourceOptions())

    return make
