"""Fixtures for the pipelines tests: a team's service, sources of each kind."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipelines import services

FIXTURES = Path(__file__).parent / "connectors" / "fixtures"
GITLAB_PROJECT = "merico-dev/ee/vdev.co"  # the project of the recorded DevLake GitLab rows


def recorded_rows(kind: str, name: str) -> list[dict]:
    """API items of a DevLake raw table (one per row, in column ``data``)."""
    with (FIXTURES / kind / name).open(newline="") as file:
        return [json.loads(row["data"]) for row in csv.DictReader(file)]


def recorded(kind: str, name: str):
    return json.loads((FIXTURES / kind / name).read_text())


@pytest.fixture
def make_source(org, service):
    def make(
        kind: str,
        *,
        base_url: str = "http://127.0.0.1:9/",
        repositories=None,
        webhook_secret: str = "s3cret",
        token: str = "t0ken",
        **fields,
    ):
        return services.source_create(
            actor=org.users["ada"],
            kind=kind,
            name=f"{kind} source",
            base_url=base_url,
            token=token,
            webhook_secret=webhook_secret,
            repositories=repositories or [{"name": GITLAB_PROJECT, "service": service.slug}],
            **fields,
        )

    return make
