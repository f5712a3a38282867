"""Evaluating the policies' rules: delivery records -> pipelines.policies.rules -> RuleResult.

``policies_evaluate`` runs after each sync, after webhook deliveries are normalised and after a
deployment is pushed (through ``policies_evaluate_queue`` and
pipelines.tasks.policies_evaluate_task), and every 15 minutes from beat as a safety net (the
windows slide and waivers expire even when nothing arrives).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Prefetch, QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from pipelines.models import Deployment, JobRun, PipelineRun, PolicyRule, RuleResult, Waiver
from pipelines.policies import rules
from portal.models import Service

logger = logging.getLogger(__name__)
RESULT_FIELDS = ["outcome", "checked", "failing", "evidence", "waiver", "evaluated_at"]


def window_of(window_days: int, today: date, now: datetime) -> rules.Window:
    """The ``window_days`` UTC days ending with ``today``; ``now`` capped at the window's end
    (evaluating a past day sees that day's end as now)."""
    ends = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)
    begins = ends - timedelta(days=window_days)
    return rules.Window(begins=begins, ends=ends, now=min(now, ends))


def _run_row(run: PipelineRun, *, with_jobs: bool = True) -> rules.Run:
    jobs = tuple(rules.Job(j.name, j.stage, j.status) for j in run.jobs.all()) if with_jobs else ()
    return rules.Run(
        id=run.pk,
        name=run.name,
        branch=run.branch,
        sha=run.sha,
        status=run.status,
        created_at=run.created_at,
        finished_at=run.finished_at,
        url=run.url,
        jobs=jobs,
    )


def _jobs(path: str = "jobs") -> Prefetch:
    """A run's jobs, only what the rules read (prefetched: one query for all runs)."""
    return Prefetch(path, JobRun.objects.only("id", "run_id", "name", "stage", "status"))


class FactsLoader:
    """The delivery rows of many services, loaded once per (what, window) and shared by every
    rule that needs them: a handful of queries per evaluation, whatever the number of services."""

    def __init__(self, services: list[Service], today: date, now: datetime) -> None:
        self.services = services
        self.ids = [s.pk for s in services]
        self.today, self.now = today, now
        self._cache: dict[tuple[str, int], dict] = {}

    def window(self, window_days: int) -> rules.Window:
        return window_of(window_days, self.today, self.now)

    def facts(self, kind: str, window_days: int) -> dict[int, rules.ServiceFacts]:
        needs = rules.KINDS[kind].needs
        parts = {need: self._load(need, window_days) for need in needs}
        return {
            service.pk: rules.ServiceFacts(
                service_id=service.pk,
                tier=service.tier,
                default_branch=service.default_branch,
                **{need: part.get(service.pk, empty) for need, (part, empty) in parts.items()},
            )
            for service in self.services
        }

    def _load(self, need: str, window_days: int) -> tuple[dict, object]:
        key = (need, window_days)
        if key not in self._cache:
            loader = getattr(self, f"_load_{need}")
            self._cache[key] = loader(self.window(window_days), window_days)
        return self._cache[key], ({} if need == "runs_by_sha" else ())

    def _load_deployments(self, window: rules.Window, _days: int) -> dict:
        """One query (plus the runs' jobs) for every service's production deployments."""
        deployments = (
            Deployment.objects.filter(
                service_id__in=self.ids,
                environment__is_production=True,
                status="success",
                finished_at__gte=window.begins,
                finished_at__lt=window.ends,
            )
            .select_related("environment", "run")
            .prefetch_related(_jobs("run__jobs"))
            .annotate(change_count=Count("changes"))
            .order_by("service_id", "finished_at", "id")
        )
        by_service: dict[int, list] = defaultdict(list)
        for d in deployments:
            by_service[d.service_id].append(
                rules.Deployment(
                    id=d.pk,
                    finished_at=d.finished_at,
                    external_id=d.external_id,
                    environment=d.environment.name,
                    sha=d.sha,
                    ref=d.ref,
                    url=d.url,
                    run=_run_row(d.run) if d.run is not None else None,
                    change_count=d.change_count,
                )
            )
        return {service_id: tuple(rows) for service_id, rows in by_service.items()}

    def _load_runs_by_sha(self, window: rules.Window, days: int) -> dict:
        """The runs of each service on the commits it deployed in the window (any branch)."""
        deployed = self._load("deployments", days)[0]
        shas = {d.sha for rows in deployed.values() for d in rows if d.sha}
        if not shas:
            return {}
        runs = PipelineRun.objects.filter(service_id__in=self.ids, sha__in=shas).prefetch_related(
            _jobs()
        )
        by_service: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for run in runs:
            by_service[run.service_id][run.sha].append(_run_row(run))
        return {
            service_id: {sha: tuple(found) for sha, found in by_sha.items()}
            for service_id, by_sha in by_service.items()
        }

    def _load_branch_runs(self, window: rules.Window, _days: int) -> dict:
        """Decided runs on each service's default branch created in the window, and the last
        one created before it (DISTINCT ON service): two queries for all services."""
        on_default = PipelineRun.objects.filter(
            service_id__in=self.ids,
            branch=F("service__default_branch"),
            status__in=rules.DECIDED,
        )
        inside = on_default.filter(created_at__gte=window.begins, created_at__lt=window.ends)
        before = (
            on_default.filter(created_at__lt=window.begins)
            .order_by("service_id", "-created_at", "-id")
            .distinct("service_id")
        )
        by_service: dict[int, list] = defaultdict(list)
        for run in [*before, *inside]:
            by_service[run.service_id].append(_run_row(run, with_jobs=False))
        return {service_id: tuple(rows) for service_id, rows in by_service.items()}


def _waivers_in_force(rule_ids, service_ids, today: date) -> dict[tuple[int, int], Waiver]:
    """Granted waivers not expired on ``today`` (expiry is checked here, so an expired waiver
    stops applying by itself): the one lasting longest per (rule, service)."""
    found: dict[tuple[int, int], Waiver] = {}
    waivers = Waiver.objects.filter(
        rule_id__in=rule_ids,
        service_id__in=service_ids,
        status=Waiver.Status.GRANTED,
        expires_on__gte=today,
    ).order_by("expires_on", "id")
    for waiver in waivers:
        found[(waiver.rule_id, waiver.service_id)] = waiver  # the later expiry wins
    return found


def policies_evaluate(
    *,
    services: Iterable[Service] | QuerySet[Service] | None = None,
    rules_to_check: Iterable[PolicyRule] | None = None,
    today: date | None = None,
) -> Counter:
    """Evaluate every active rule (or those given) for the services given (else all), and
    upsert each verdict as the RuleResult of (rule, service, today). Returns the outcomes'
    counts.

    1. Load the delivery rows each rule kind needs, once per window for all services.
    2. Run the pure evaluator per (rule, service).
    3. A failing verdict with a granted waiver in force today becomes ``waived``.
    4. Upsert (INSERT ... ON CONFLICT (rule, service, day) DO UPDATE): running twice a day,
       or two workers at once, leaves one row per rule, service and day, the latest verdict.
    """
    now = timezone.now()
    today = today or timezone.localdate()
    service_list = list(Service.objects.all() if services is None else services)
    active = PolicyRule.objects.filter(is_active=True).order_by("pk")
    if rules_to_check is not None:
        active = active.filter(pk__in=[r.pk for r in rules_to_check])
    rule_list = list(active)
    if not service_list or not rule_list:
        return Counter()
    loader = FactsLoader(service_list, today, now)
    waivers = _waivers_in_force([r.pk for r in rule_list], loader.ids, today)
    results, outcomes = [], Counter()
    for rule in rule_list:
        window = loader.window(rule.window_days)
        facts = loader.facts(rule.kind, rule.window_days)
        for service in service_list:
            verdict = rules.evaluate(rule.kind, rule.params, facts[service.pk], window)
            waiver = waivers.get((rule.pk, service.pk)) if verdict.outcome == rules.FAIL else None
            outcome = RuleResult.Outcome.WAIVED if waiver else verdict.outcome
            outcomes[outcome] += 1
            results.append(
                RuleResult(
                    rule=rule,
                    service=service,
                    day=today,
                    outcome=outcome,
                    checked=verdict.checked,
                    failing=verdict.failing,
                    evidence=verdict.evidence,
                    waiver=waiver,
                    evaluated_at=now,
                )
            )
    RuleResult.objects.bulk_create(
        results,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["rule", "service", "day"],
        update_fields=RESULT_FIELDS,
    )
    return outcomes


def policies_evaluate_queue(*, service_ids: Iterable[int] | None = None) -> None:
    """Queue an evaluation (of these services, else all) once the transaction commits.

    A broker that is down only delays it: beat's 15-minute evaluation catches up, and the
    delivery records that triggered it are stored whatever happens here."""
    from pipelines.tasks import policies_evaluate_task

    ids = None if service_ids is None else sorted(set(service_ids))
    if ids == []:
        return

    def send() -> None:
        try:
            policies_evaluate_task.delay(ids)
        except (OperationalError, OSError):
            logger.warning("broker unavailable; policies are evaluated on the next beat")

    transaction.on_commit(send)


def policies_evaluate_after_sync(*, source) -> None:
    """Queue an evaluation of the services the source's repositories map to (the end of a
    sync: its batches were normalised without evaluating each)."""
    slugs = {repository.get("service") for repository in source.repositories}
    policies_evaluate_queue(
        service_ids=Service.objects.filter(slug__in=slugs).values_list("pk", flat=True)
    )
