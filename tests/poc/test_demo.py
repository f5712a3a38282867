"""The POC demo tells DEMO.md's story: Data's orchestration POC in review with two evaluators
while the radar shows Dagster in assess; a dozen POCs across the lifecycle; radar history."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from poc.models import Poc, RadarEntry
from poc.selectors import adoption, score_summary


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def test_the_demo_tells_the_story(demo):
    dagster = Poc.objects.get(tool="Dagster")
    assert (dagster.team.name, dagster.status) == ("Data", "in_review")
    assert dagster.evaluations.count() == 2
    assert RadarEntry.objects.get(slug="dagster").ring == "assess"
    assert Poc.objects.count() >= 12
    assert set(Poc.objects.values_list("status", flat=True)) == {
        "proposed", "approved", "running", "in_review", "decided", "withdrawn",
    }  # fmt: skip
    airflow = Poc.objects.get(tool="Apache Airflow")
    assert airflow.radar_entry.ring == "hold"
    assert (timezone.now() - airflow.radar_entry.moved_at).days == 210  # decided in the spring
    assert score_summary(airflow).spread > 0
    trivy = RadarEntry.objects.get(slug="trivy")
    assert [m.to_ring for m in trivy.moves.all()] == ["adopt"]
    assert adoption([trivy])[trivy.pk]  # the standard pipelines' security scans
    trunk = RadarEntry.objects.get(slug="trunk-based-development")
    assert [(m.from_ring, m.to_ring) for m in trunk.moves.all()] == [
        ("", "trial"),
        ("trial", "adopt"),
    ]
    assert trunk.created_at < trunk.moved_at


def test_loading_twice_adds_nothing(demo):
    before = (Poc.objects.count(), RadarEntry.objects.count())
    call_command("load_demo", verbosity=0)
    assert (Poc.objects.count(), RadarEntry.objects.count()) == before
