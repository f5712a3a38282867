"""The generator of the demo's year of history: runs, jobs, deployments, changes, incidents,
drawn from each team's profile (demo_story.py) and bulk-inserted (see demo.py)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from itertools import count

from django.db import connection
from django.db.models import F
from django.utils import timezone

from pipelines.connectors.base import RunStatus
from pipelines.demo import Repo
from pipelines.demo_story import (
    ADOPTION_DAYS,
    BATCH_SIZE,
    CANCELLED,
    CHECKOUT_STANDARD,
    DAYS,
    FAIL,
    FAILURE,
    INCIDENT,
    INCIDENTS,
    JOBS,
    MOBILE_PROBLEMS,
    OK,
    PROFILES,
    RUNNERS,
    RUNNING_NOW,
    SEED,
    SOURCES,
    SUCCESS,
    TEST_JOBS,
    THINGS,
    VERBS,
    Profile,
)
from pipelines.models import (
    Change,
    CISource,
    Deployment,
    Incident,
    IncidentStatus,
    JobRun,
    PipelineRun,
    Severity,
)
from portal.models import Environment


class History:
    """Draws a year of records in memory, then inserts them in bulk."""

    def __init__(self, now: datetime, environments: dict[str, Environment]) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 (demo data, not secrets)
        self.now, self.environments = now, environments
        self.start = now - timedelta(days=DAYS)
        self.run_ids, self.job_ids = count(9_104_351_000, 7), count(25_880_412_000, 3)
        self.deployment_ids = count(2_214_006_000, 2)
        self.runs: list[PipelineRun] = []
        self.jobs: list[JobRun] = []
        self.deployments: list[Deployment] = []
        self.changes: list[Change] = []
        self.links: list[tuple[Deployment, Change]] = []
        self.brought: dict[int, list[Change]] = {}  # id(production deployment) -> its changes
        self.incidents: list[Incident] = []

    # --- small draws -----------------------------------------------------------------------

    def hours(self, bounds: tuple[float, float]) -> timedelta:
        return timedelta(hours=self.rng.uniform(*bounds))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def at(self, day: date, hour: float) -> datetime:
        midnight = datetime.combine(day, time(), tzinfo=timezone.get_current_timezone())
        return midnight + timedelta(hours=hour)

    def working(self, moment: datetime) -> datetime:
        """Move a commit back into working hours (Mon-Fri, 08:00-19:00): people commit at work."""
        local = timezone.localtime(moment)
        if local.hour < 8:
            local -= timedelta(hours=local.hour + 1)  # the evening before
        if local.hour >= 19:
            local = local.replace(hour=self.rng.randint(15, 18))
        while local.weekday() >= 5:
            local -= timedelta(days=1)
        return local

    # --- one service's year ----------------------------------------------------------------

    def service(self, repo: Repo) -> None:
        """Production deployments on the team's cadence, plus the team's peculiarities."""
        team = repo.service.team.name
        if team == "Mobile":
            self.release_train(repo)
        else:
            adoption = (self.now - timedelta(days=ADOPTION_DAYS)).date()
            for offset in range(DAYS + 1):
                day = self.start.date() + timedelta(days=offset)
                profile = PROFILES[team]
                if team == "Checkout" and day >= adoption:
                    profile = CHECKOUT_STANDARD
                if day.weekday() not in profile.weekdays:
                    continue
                rate = profile.per_day
                if rate >= 1:
                    n = max(0, round(self.rng.gauss(rate, rate / 3)))
                else:
                    n = int(self.rng.random() < rate)
                for hour in sorted(self.rng.uniform(9, 17.5) for _ in range(n)):
                    moment = self.at(day, hour)
                    if self.start < moment < self.now - timedelta(hours=1):
                        self.deliver(repo, profile, moment, self.outcome(profile, moment))
        if team == "Catalog":
            self.red_main(repo)
        if repo.service.slug in RUNNING_NOW:
            profile = CHECKOUT_STANDARD if team == "Checkout" else PROFILES[team]
            created = self.now - self.minutes(3, 14)
            self.run(repo, profile, created, self.sha(), profile.jobs)

    def outcome(self, profile: Profile, moment: datetime) -> str:
        """OK, FAIL or INCIDENT, at the profile's rates."""
        # Only deployments whose recovery is over by now may go wrong: no open incidents today.
        margin = profile.recovery_hours[1] + profile.wait_hours[1] + 4
        if moment + timedelta(hours=margin) > self.now:
            return OK
        draw = self.rng.random()
        if draw < profile.failure_rate:
            return FAIL
        return INCIDENT if draw < profile.failure_rate + profile.incident_rate else OK

    def release_train(self, repo: Repo) -> None:
        """Mobile: one release a month (second week), a few of them bad, one painful in spring."""
        today, trains = timezone.localtime(self.now).date(), []
        shift = sorted(MOBILE_PROBLEMS).index(repo.service.slug)  # the services a day apart
        for back in range(13, -1, -1):
            year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
            first = date(year, month + 1, 1)
            tuesday = first + timedelta(days=(1 - first.weekday()) % 7 + 7 + shift)
            moment = self.at(tuesday, 10.5)
            if self.start < moment <= self.now - timedelta(days=4):
                trains.append(moment)
        trains = trains[-12:]
        outcomes = [OK] * len(trains)
        if repo.service.slug == "ios-app":  # the latest spring release (DEMO.md's incident)
            spring = max(i for i, m in enumerate(trains) if m.month in (3, 4))
            outcomes[spring] = "spring"
        free = [i for i, o in enumerate(outcomes) if o == OK]
        for n, i in enumerate(self.rng.sample(free, MOBILE_PROBLEMS[repo.service.slug])):
            outcomes[i] = (FAIL, INCIDENT)[n % 2]
        for moment, outcome in zip(trains, outcomes, strict=True):
            self.deliver(repo, PROFILES["Mobile"], moment, outcome)

    def deliver(self, repo: Repo, profile: Profile, moment: datetime, outcome: str) -> None:
        """A production deployment and, when it goes wrong, its rework (and incident)."""
        deployment = self.release(repo, profile, moment, failed=outcome == FAIL)
        if outcome == OK:
            return
        spring = outcome == "spring"
        recovery = self.hours((30, 34) if spring else profile.recovery_hours)
        if outcome == FAIL:
            self.release(repo, profile, deployment.finished_at + recovery, rework_of=deployment)
            return
        opened = deployment.finished_at + self.minutes(5, 40)
        if profile.flag_fixes and not spring:
            resolved = opened + recovery
        else:  # the spring crash: over a day to find and fix, then the app store's review
            fix = self.release(repo, profile, opened + recovery, rework_of=deployment, hotfix=True)
            resolved = fix.finished_at + self.minutes(2, 10)
        title = "iOS app crashes at checkout after the spring release" if spring else None
        number = next(repo.numbers)
        incident = Incident(
            source=repo.source, service=repo.service, external_id=f"{repo.name}#{number}",
            title=title or f"{self.rng.choice(INCIDENTS)}: {repo.service.name}",
            opened_at=opened, resolved_at=resolved, deployment=deployment,
            url=repo.link("issue", n=number), status=IncidentStatus.RESOLVED,
            # No new random draws here: they would move every later record of the year.
            severity=Severity.SEV1 if spring else Severity.SEV2,
            acknowledged_at=opened + recovery / 20,
        )  # fmt: skip
        self.incidents.append(incident)

    def release(
        self,
        repo: Repo,
        profile: Profile,
        moment: datetime,
        *,
        failed: bool = False,
        rework_of: Deployment | None = None,
        hotfix: bool = False,
    ) -> Deployment:
        """One deploying run: its changes, staging, then production starting at ``moment``.

        A rework is expedited (a third of the usual wait) and ``moment`` is its fix's commit. After
        a failed deployment it brings that deployment's changes again plus the fix; the hotfix for
        an incident brings only the fix (the rest is already in production).
        """
        steps = [(job, self.minutes(*JOBS[job][1])) for job in profile.jobs[:-1]]
        staging_length, wait = self.minutes(*JOBS["deploy"][1]), self.hours(profile.wait_hours)
        pipeline = sum((length for _, length in steps), timedelta(minutes=1))
        if rework_of is None:
            deploy_start = moment - wait - staging_length
            created = deploy_start - pipeline
            changes = [
                self.change(repo, profile, moment - self.hours(profile.lead_hours), created)
                for _ in range(self.rng.randint(*profile.commits))
            ]
        else:
            created = moment + self.minutes(1, 3)
            deploy_start = created + pipeline
            changes = [self.change(repo, profile, moment, created, fix=True)]
            changes += [] if hotfix else self.brought[id(rework_of)]
            moment = deploy_start + staging_length + wait / 3
        head, choice = max(changes, key=lambda c: c.committed_at).sha, self.rng.choice
        production_length = self.minutes(*profile.deploy_minutes)
        eu = repo.service.team.name == "Payments" and not failed
        end = moment + production_length + (self.minutes(3, 8) if eu else timedelta())
        if profile.flaky and self.rng.random() < profile.flaky:  # the first try fails on tests
            first_try = created - self.minutes(20, 60)
            self.run(repo, profile, first_try, head, profile.jobs[:-1], stop=choice(TEST_JOBS))
        steps.append(("deploy", end - deploy_start))
        run = self.run(repo, profile, created, head, steps, stop="deploy" if failed else None)
        status, eu_start = FAILURE if failed else SUCCESS, moment + production_length
        targets = [("staging", deploy_start, staging_length, SUCCESS)]
        targets += [("production", moment, production_length, status)]
        if eu:  # Payments rolls out to the EU region once production is healthy
            targets += [("prod-eu", eu_start, end - eu_start, status)]
        made: list[Deployment] = []
        for environment, started, length, target_status in targets:
            if repo.source.kind == CISource.Kind.JENKINS:  # a deploy stage per environment
                external_id = f"{run.external_id}/deploy-{environment}"
            else:
                external_id = str(next(self.deployment_ids))
            deployment = Deployment(
                source=repo.source, service=repo.service, external_id=external_id,
                environment=self.environments[environment], status=target_status,
                started_at=started, finished_at=started + length, sha=run.sha, ref=run.branch,
                run=run, url=run.url, is_rework=rework_of is not None,
            )  # fmt: skip
            made.append(deployment)
            if environment != "staging":
                self.links += [(deployment, change) for change in changes]
        self.deployments += made
        self.brought[id(made[1])] = changes
        return made[1]  # production

    def change(
        self,
        repo: Repo,
        profile: Profile,
        moment: datetime,
        run_created: datetime,
        fix: bool = False,
    ) -> Change:
        """A merged commit (never after the run that ships it) and maybe its pull-request run."""
        committed = min(moment if fix else self.working(moment), run_created - self.minutes(2, 9))
        sha, number = self.sha(), next(repo.numbers)
        title = "Fix regression from last deploy" if fix else None
        change = Change(
            service=repo.service, sha=sha, committed_at=committed,
            title=title or f"{self.rng.choice(VERBS)} {self.rng.choice(THINGS)}",
            pull_request=repo.link("pull", n=number), url=repo.link("commit", sha=sha),
            merged_at=committed + (run_created - committed) * self.rng.uniform(0.3, 0.95),
        )  # fmt: skip
        self.changes.append(change)
        if self.rng.random() < profile.pr_share:
            branch, jobs, choice = f"feature/{number}", profile.jobs[:-1], self.rng.choice
            started = committed + self.minutes(1, 5)
            draw = self.rng.random()
            if draw < profile.flaky:  # red on tests, green on the re-run of the same sha
                self.run(repo, profile, started, sha, jobs, branch, stop=choice(TEST_JOBS))
                started += self.minutes(15, 40)
            stop = choice(jobs) if draw > 0.9 else None
            end = CANCELLED if draw > 0.97 else FAILURE
            self.run(repo, profile, started, sha, jobs, branch, stop=stop, end=end)
        return change

    def red_main(self, repo: Repo) -> None:
        """Now and then main goes red for hours: pushes fail on tests until a fix lands."""
        moment = self.start + timedelta(days=self.rng.uniform(5, 30))
        profile = PROFILES["Catalog"]
        jobs, choice = profile.jobs[:-1], self.rng.choice
        while moment < self.now - timedelta(days=3):
            moment = self.at(self.working(moment).date(), self.rng.uniform(10, 15))
            span, pushes = self.hours((3, 30)), self.rng.randint(3, 6)
            for i in range(pushes):
                pushed = moment + span * i / pushes
                self.run(repo, profile, pushed, self.sha(), jobs, stop=choice(TEST_JOBS))
            self.run(repo, profile, moment + span, self.sha(), jobs)  # the fix
            moment += timedelta(days=self.rng.uniform(20, 50))

    # --- records -----------------------------------------------------------------------------

    def run(
        self,
        repo: Repo,
        profile: Profile,
        created: datetime,
        sha: str,
        steps: tuple[str, ...] | list[tuple[str, timedelta]],
        branch: str = "main",
        stop: str | None = None,
        end: str = FAILURE,
    ) -> PipelineRun:
        """A run of the team's workflow (a push to main, or a pull request's branch) whose jobs
        follow one another; it ends with ``end`` at job ``stop``, if any, and skips the rest.

        Jobs not started by now are queued and jobs not finished are running, so a run created
        minutes ago shows as in progress.
        """
        if repo.source.kind == CISource.Kind.JENKINS:
            number = next(repo.builds)
            external_id = f"{repo.name}#{number}"
        else:
            number = next(self.run_ids)
            external_id = str(number)
        started = created + timedelta(seconds=self.rng.randint(3, 40))
        run = PipelineRun(
            source=repo.source, service=repo.service, external_id=external_id,
            name=profile.workflow, branch=branch, sha=sha, created_at=created, started_at=started,
            event="push" if branch == "main" else "pull_request",
            url=repo.link("run", run=number),
        )  # fmt: skip
        self.runs.append(run)
        moment: datetime | None = started
        unfinished = False
        for position, step in enumerate(steps, start=1):
            job_name, length = step if isinstance(step, tuple) else (step, None)
            if repo.source.kind == CISource.Kind.JENKINS:  # stages are numbered within a build
                job_id, job_external_id = position, f"{external_id}/{position}"
            else:
                job_id = next(self.job_ids)
                job_external_id = str(job_id)
            job = JobRun(
                source=repo.source, run=run, run_external_id=external_id, name=job_name,
                external_id=job_external_id, stage=JOBS[job_name][0], created_at=moment or started,
                url=repo.link("job", run=number, job=job_id), status=RunStatus.SKIPPED.value,
                runner=RUNNERS.get(repo.source.kind, ""),
            )  # fmt: skip
            self.jobs.append(job)
            if moment is None:  # skipped: an earlier job failed or was cancelled
                continue
            finished = moment + (length or self.minutes(*JOBS[job_name][1]))
            if moment > self.now:
                job.status, unfinished = RunStatus.QUEUED.value, True
            elif finished > self.now:
                job.status, job.started_at, unfinished = RunStatus.RUNNING.value, moment, True
            else:
                job.status = end if job_name == stop else SUCCESS
                job.started_at, job.finished_at = moment, finished
                run.finished_at = finished
            moment = None if job_name == stop else finished + self.minutes(0.05, 0.3)
        if unfinished:
            run.status, run.finished_at = RunStatus.RUNNING.value, None
        else:
            run.status = SUCCESS if moment else end
        return run

    def save(self) -> None:
        """Insert everything in bulk; primary keys come back from PostgreSQL to link on."""
        PipelineRun.objects.bulk_create(self.runs, batch_size=BATCH_SIZE)
        JobRun.objects.bulk_create(self.jobs, batch_size=BATCH_SIZE)
        Deployment.objects.bulk_create(self.deployments, batch_size=BATCH_SIZE)
        Change.objects.bulk_create(self.changes, batch_size=BATCH_SIZE)
        through = Deployment.changes.through
        through.objects.bulk_create(
            [through(deployment_id=d.pk, change_id=c.pk) for d, c in self.links],
            batch_size=BATCH_SIZE,
        )
        Incident.objects.bulk_create(self.incidents, batch_size=BATCH_SIZE)
        # Statistics for the year just loaded (PostgreSQL's advice after a bulk load): without
        # them the planner guesses empty tables, and the updates below and in the process demo
        # crawl through the rollups' triggers (minutes, seen on a database autovacuum had
        # analysed while it was still empty).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        # As if each deployment had been recorded when it happened (created_at is auto_now_add).
        demo_sources = [source[0] for source in SOURCES]
        Deployment.objects.filter(source__slug__in=demo_sources).update(created_at=F("started_at"))
