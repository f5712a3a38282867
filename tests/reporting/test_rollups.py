"""Daily rollups: kept equal to the raw records by incremental refreshes, whatever the order.

The oracle is ``dora.compute`` over the raw records (hand-checked in test_dora.py): for random
worlds written in random order, with late data, replays, updates and deletions, the rollup rows
equal a rebuild's, and the keys read from them equal the raw computation for every window.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest
from django.core.management import call_command

from pipelines.models import Change, Deployment, Incident, JobRun, PipelineRun
from pipelines.services import push_source
from portal.models import Environment, Service
from reporting.metrics.dora import Window
from reporting.metrics.health import MAIN_RUN, RED_LOOKBACK, compute_health
from reporting.models import DoraDay, PipelineDay, RollupDirt, unpack_split
from reporting.raw_rows import dora_for, health_rows
from reporting.rollups import rebuild, refresh_pending
from reporting.selectors import ORGANISATION, RollupScope, dora_totals, health_for
from tests.factories import ServiceFactory

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
# Offsets other than UTC, so local times near midnight land on the UTC day they really are.
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]


def _rows() -> dict:
    return _dora_rows() | _pipeline_rows()


def _pipeline_rows() -> dict:
    return {
        ("pipelines", row.service_id, row.day): (
            row.decided,
            row.succeeded,
            sorted(np.frombuffer(bytes(row.durations), "<f8").tolist()),
            sorted(np.frombuffer(bytes(row.queues), "<f8").tolist()),
            sorted(np.frombuffer(bytes(row.main_runs), MAIN_RUN).tolist()),
            row.details,
        )
        for row in PipelineDay.objects.all()
    }


def _dora_rows() -> dict:
    return {
        (row.service_id, row.team_id, row.day): (
            row.deployments,
            row.failed,
            row.rework,
            sorted(unpack_split(row.lead_times_whole, row.lead_times).tolist()),
            sorted(unpack_split(row.recovery_times_whole, row.recovery_times).tolist()),
        )
        for row in DoraDay.objects.all()
    }


def _moment(rng: random.Random) -> datetime:
    return (DAY0 + timedelta(minutes=rng.randrange(20 * 24 * 60))).astimezone(rng.choice(ZONES))


class World:
    """Random deployments, changes (some deployed more than once) and incidents, written one
    at a time in random order with a refresh after each, as records arrive from sources."""

    def __init__(self, services: list[Service], seed: int):
        self.rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
        self.services = services
        self.source = push_source()
        self.production = Environment.objects.create(
            name="production", slug="production", is_production=True
        )
        self.staging = Environment.objects.create(name="staging", slug="staging", position=1)
        self.deployments: list[Deployment] = []
        self.changes: list[Change] = []
        self.serial = 0

    def _id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def deployment(self) -> Deployment:
        rng = self.rng
        finished = _moment(rng)
        deployment = Deployment.objects.create(
            source=self.source,
            service=rng.choice(self.services),
            environment=self.production if rng.random() < 0.85 else self.staging,
            external_id=self._id("D"),
            status="success" if rng.random() < 0.85 else "failure",
            started_at=finished - timedelta(minutes=5),
            finished_at=finished,
            is_rework=rng.random() < 0.1,
        )
        self.deployments.append(deployment)
        return deployment

    def change(self) -> None:
        rng = self.rng
        candidates = [d for d in self.deployments if d.finished_at is not None]
        if not candidates:
            return
        first = rng.choice(candidates)
        change = Change.objects.create(
            service=first.service,
            sha=self._id("sha"),
            committed_at=first.finished_at - timedelta(minutes=rng.randrange(10, 5000)),
        )
        same_service = [d for d in candidates if d.service_id == first.service_id]
        for deployment in {first, *rng.sample(same_service, min(2, len(same_service)))}:
            deployment.changes.add(change)  # a redeploy or a rollback and forward
        self.changes.append(change)

    def incident(self) -> None:
        rng = self.rng
        opened = _moment(rng)
        named = rng.choice(self.deployments) if self.deployments and rng.random() < 0.2 else None
        Incident.objects.create(
            source=self.source,
            service=named.service if named else rng.choice(self.services),
            external_id=self._id("I"),
            title="incident",
            opened_at=opened,
            resolved_at=None
            if rng.random() < 0.15
            else opened + timedelta(hours=rng.random() * 30),
            deployment=named,
        )

    def run(self) -> None:
        """A pipeline run with two jobs; commits are reused, so some jobs fail then pass."""
        rng = self.rng
        created = _moment(rng)
        status = rng.choice(["success", "success", "failure", "cancelled", "running"])
        finished = None if status == "running" else created + timedelta(minutes=rng.randrange(30))
        run = PipelineRun.objects.create(
            source=self.source,
            service=rng.choice(self.services),
            external_id=self._id("R"),
            name="ci",
            branch=rng.choice(["main", "main", "feature"]),
            sha=f"c{rng.randrange(12)}",
            status=status,
            created_at=created,
            started_at=created + timedelta(minutes=rng.randrange(3)),
            finished_at=finished,
        )
        for name in ("build", "tests"):
            JobRun.objects.create(
                source=self.source,
                run=run,
                run_external_id=run.external_id,
                external_id=self._id("J"),
                name=name,
                status=rng.choice(["success", "failure"]),
                started_at=run.started_at,
                finished_at=finished,
                runner=rng.choice(["ubuntu-latest", "macos-14", ""]),
            )

    def grow(self, steps: int) -> None:
        for _ in range(steps):
            roll = self.rng.random()
            if roll < 0.35:
                self.deployment()
            elif roll < 0.6:
                self.change()
            elif roll < 0.75:
                self.incident()
            else:
                self.run()
            refresh_pending()


@pytest.fixture
def services(service, org) -> list[Service]:
    return [service, ServiceFactory(team=org.mobile, name="App", slug="app")]


def _assert_rebuild_gives_the_same_rows() -> None:
    incremental = _rows()
    assert incremental, "the world should have counted deployments"
    rebuild()
    assert _rows() == incremental


def _assert_totals_equal_raw(services: list[Service], windows: list[Window]) -> None:
    first, second = services[0], services[1]
    scopes = [
        (ORGANISATION, [first.pk, second.pk]),
        (RollupScope.of_services([first.pk]), [first.pk]),
        (RollupScope.of_services([first.pk, second.pk]), [first.pk, second.pk]),
        (RollupScope.of_teams([second.team_id]), [second.pk]),
    ]
    for window in windows:
        for rollup, service_ids in scopes:
            raw = dora_for(services=Service.objects.filter(pk__in=service_ids), window=window)
            rolled = dora_totals(scope=rollup, window=window)
            assert rolled.deployment_count == raw.deployment_count, (window, rollup)
            assert rolled.failed_count == raw.failed_count, (window, rollup)
            assert rolled.rework_count == len(raw.rework), (window, rollup)
            assert sorted(rolled.lead_times.tolist()) == sorted(raw.lead_times)
            assert sorted(rolled.recovery_times.tolist()) == sorted(raw.recovery_times)
            assert rolled.lead_time_median == raw.lead_time_median
            assert rolled.recovery_median == raw.recovery_median
            _assert_health_equal_raw(rollup, service_ids, window)


def _assert_health_equal_raw(rollup, service_ids: list[int], window: Window) -> None:
    """The health page's numbers from the pipeline days equal those from the runs."""
    runs, jobs = health_rows(
        service_ids=service_ids, begins=window.begins - RED_LOOKBACK, ends=window.ends
    )
    now = datetime(2026, 3, 25, tzinfo=UTC)
    raw = compute_health(window=window, runs=runs, jobs=jobs, cost_per_minute=0.01, now=now)
    rolled = health_for(scope=rollup, window=window, now=now)
    for result in (raw, rolled):  # the rates differ (settings); the minutes are compared
        result.ci_by_runner = sorted((r, m) for r, m, _cost in result.ci_by_runner)
        result.ci_cost = 0
    assert asdict(rolled) == asdict(raw), (window, rollup)


WINDOWS = [
    Window(date(2026, 3, 1), date(2026, 3, 20)),
    Window(date(2026, 3, 4), date(2026, 3, 4)),
    Window(date(2026, 3, 7), date(2026, 3, 13)),
    Window(date(2026, 2, 20), date(2026, 3, 2)),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_rollups_equal_a_rebuild_and_the_raw_computation(services, seed):
    world = World(services, seed)
    world.grow(160)

    _assert_totals_equal_raw(services, WINDOWS)
    _assert_rebuild_gives_the_same_rows()


def test_updates_and_deletions_are_followed(services):
    world = World(services, seed=7)
    world.grow(120)
    rng = world.rng

    # Incidents resolved later, moved, or re-attributed; deployments failing after the fact,
    # finishing on another day, or deleted; a change's commit time corrected.
    for incident in rng.sample(list(Incident.objects.all()), 5):
        incident.resolved_at = incident.opened_at + timedelta(hours=rng.randrange(1, 50))
        incident.deployment = rng.choice(world.deployments)
        incident.save()
    for deployment in rng.sample(world.deployments, 6):
        deployment.status = "failure" if deployment.status == "success" else "success"
        deployment.finished_at += timedelta(days=rng.choice([-2, 1, 3]))
        deployment.save()
    for deployment in rng.sample(world.deployments, 4):
        world.deployments.remove(deployment)
        deployment.delete()
    change = Change.objects.filter(deployments__isnull=False).first()
    change.committed_at -= timedelta(days=1)
    change.save()
    Incident.objects.order_by("?").first().delete()

    _assert_totals_equal_raw(services, WINDOWS)  # reads refresh what is pending first
    _assert_rebuild_gives_the_same_rows()


def test_an_environment_that_stops_being_production_leaves_the_rollups(services):
    world = World(services, seed=11)
    world.grow(60)
    before = dora_totals(scope=ORGANISATION, window=WINDOWS[0]).deployment_count

    world.production.is_production = False
    world.production.save()

    assert before > 0
    assert dora_totals(scope=ORGANISATION, window=WINDOWS[0]).deployment_count == 0
    assert not DoraDay.objects.exists()


def test_a_replayed_write_notes_no_work(services):
    world = World(services, seed=5)
    world.grow(30)
    assert not RollupDirt.objects.exists()

    # What a replayed webhook does: the same values written again, only updated_at moves.
    for deployment in Deployment.objects.all():
        deployment.save()
    Incident.objects.update(title="renamed")

    assert not RollupDirt.objects.exists()


def test_a_late_deployment_takes_the_incidents_after_it_from_the_one_before(service, org):
    """Hand-computed: D1 at 10:00 on 1 March; incident I at 12:00 on 3 March is attributed to
    D1 (the latest before it), so 1 March has 1 failed deployment. D2 arrives late, finished at
    09:00 on 2 March: I now belongs to D2, so 1 March has 0 failed and 2 March 1 failed, with a
    recovery time of I's resolution (13:00 on 3 March) - D2's finish = 28 h = 100,800 s."""
    world = World([service], seed=0)
    source, production = world.source, world.production

    def deploy(external_id: str, finished: datetime) -> None:
        Deployment.objects.create(
            source=source,
            service=service,
            environment=production,
            external_id=external_id,
            status="success",
            finished_at=finished,
        )
        refresh_pending()

    deploy("D1", datetime(2026, 3, 1, 10, tzinfo=UTC))
    Incident.objects.create(
        source=source,
        service=service,
        external_id="I",
        title="down",
        opened_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 3, 13, tzinfo=UTC),
    )
    refresh_pending()
    assert _dora_rows()[(service.pk, None, date(2026, 3, 1))][1] == 1

    deploy("D2", datetime(2026, 3, 2, 9, tzinfo=UTC))

    rows = _dora_rows()
    assert rows[(service.pk, None, date(2026, 3, 1))] == (1, 0, 0, [], [])
    assert rows[(service.pk, None, date(2026, 3, 2))] == (1, 1, 0, [], [100_800.0])
    assert rows[(None, service.team_id, date(2026, 3, 2))] == (1, 1, 0, [], [100_800.0])
    assert rows[(None, None, date(2026, 3, 2))] == (1, 1, 0, [], [100_800.0])


def test_a_service_moving_team_moves_its_history(services, org):
    World(services, seed=4).grow(60)
    cart = services[0]
    window = WINDOWS[0]
    checkout_before = dora_totals(scope=RollupScope.of_teams([org.checkout.pk]), window=window)
    assert checkout_before.deployment_count > 0

    cart.team = org.mobile
    cart.save()

    moved = dora_totals(scope=RollupScope.of_teams([org.checkout.pk]), window=window)
    mobile = dora_totals(scope=RollupScope.of_teams([org.mobile.pk]), window=window)
    everyone = dora_totals(scope=ORGANISATION, window=window)
    assert moved.deployment_count == 0
    assert mobile.deployment_count == everyone.deployment_count
    _assert_rebuild_gives_the_same_rows()


def test_rollup_rebuild_command_reports_what_it_wrote(services, capsys):
    World(services, seed=3).grow(40)
    rows = _rows()

    call_command("rollup_rebuild")

    assert _rows() == rows
    assert f"Rebuilt {len(rows)} daily rollup rows" in capsys.readouterr().out


def test_runs_note_the_pipeline_days_and_deployments_the_dora_days(services):
    world = World(services, seed=9)

    world.run()
    assert set(RollupDirt.objects.values_list("rollup", flat=True)) == {"pipelines"}
    refresh_pending()

    world.deployment()
    assert set(RollupDirt.objects.values_list("rollup", flat=True)) == {"dora"}
