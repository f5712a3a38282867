"""Jenkins payloads as frozen pydantic models, and the pure mapping of Jenkins raw items to records.

The models read a build as ``BUILD_TREE`` selects it, the Pipeline stages of ``wfapi/describe``
and Notification-plugin bodies; vendors add fields, so they ignore what they do not name, and a
malformed object raises ``pydantic.ValidationError`` instead of becoming half a record (CI-APIS.md
section 3). Also here: the result and stage-status mappings, job names from URLs, deployment
environments from build and stage names, and one normaliser per item kind (``NORMALISERS``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from pipelines.connectors.base import (
    ChangeRecord,
    DeploymentRecord,
    JobRecord,
    RawItem,
    Record,
    RunRecord,
    RunStatus,
    SourceOptions,
)
from pipelines.connectors.times import parse_time

# https://javadoc.jenkins.io/hudson/model/Result.html; null while building.
BUILD_RESULTS = {
    "SUCCESS": RunStatus.SUCCESS,
    "UNSTABLE": RunStatus.FAILURE,
    "FAILURE": RunStatus.FAILURE,
    "ABORTED": RunStatus.CANCELLED,
    "NOT_BUILT": RunStatus.SKIPPED,
}

# pipeline-stage-view's StatusExt.
STAGE_STATUSES = {
    "SUCCESS": RunStatus.SUCCESS,
    "FAILED": RunStatus.FAILURE,
    "UNSTABLE": RunStatus.FAILURE,
    "ABORTED": RunStatus.CANCELLED,
    "NOT_EXECUTED": RunStatus.SKIPPED,
    "IN_PROGRESS": RunStatus.RUNNING,
    "PAUSED_PENDING_INPUT": RunStatus.RUNNING,
}

# Words between the deploy word and the environment: "Deploy to staging".
_FILLER_WORDS = {"to", "into", "in", "on", "onto", "for", "at"}
_WORD = re.compile(r"[A-Za-z0-9][\w.-]*")
_NEVER = re.compile(r"(?!)")
_BRANCH_PREFIX = re.compile(r"^(refs/remotes/[^/]+/|refs/heads/|origin/)")


# --- vendor payloads ------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class JenkinsBranchPayload(_Payload):
    name: str


class JenkinsRevisionPayload(_Payload):
    sha1: str = Field(validation_alias="SHA1")
    branch: list[JenkinsBranchPayload] = []


class JenkinsActionPayload(_Payload):
    last_built_revision: JenkinsRevisionPayload | None = Field(
        None, validation_alias="lastBuiltRevision"
    )


class JenkinsChangePayload(_Payload):
    commit_id: str | None = Field(None, validation_alias="commitId")
    revision: int | str | None = None
    timestamp: int | None = None  # epoch ms; -1 when the SCM does not know
    msg: str | None = None
    author_email: str | None = Field(None, validation_alias="authorEmail")


class JenkinsChangeSetPayload(_Payload):
    kind: str | None = None
    items: list[JenkinsChangePayload] = []


class JenkinsBuildPayload(_Payload):
    """One element of ``allBuilds`` (or ``/<job>/<n>/api/json``) as ``BUILD_TREE`` selects it."""

    number: int
    url: str = ""
    timestamp: int  # start, epoch ms
    duration: int = 0  # ms, 0 while building
    result: str | None = None
    building: bool = False
    actions: list[JenkinsActionPayload] = []
    # Pipeline builds export ``changeSets``, freestyle builds ``changeSet`` (and newer ones both).
    change_sets: list[JenkinsChangeSetPayload] = Field([], validation_alias="changeSets")
    change_set: JenkinsChangeSetPayload | None = Field(None, validation_alias="changeSet")

    @property
    def revision(self) -> JenkinsRevisionPayload | None:
        """The git plugin's BuildData of the first checkout (a build may check out several)."""
        return next((a.last_built_revision for a in self.actions if a.last_built_revision), None)


class JenkinsStagePayload(_Payload):
    """One of ``stages`` in ``/<job>/<n>/wfapi/describe``."""

    id: str
    name: str
    status: str | None = None
    start_time_millis: int = Field(0, validation_alias="startTimeMillis")
    duration_millis: int = Field(0, validation_alias="durationMillis")


class JenkinsBuildContextPayload(_Payload):
    """What ``fetch`` adds to a build: its stages, its job and the deployment pattern then."""

    job: str = ""
    stages: list[JenkinsStagePayload] = []
    deployment_pattern: str = SourceOptions.deployment_pattern


class JenkinsNotificationScmPayload(_Payload):
    commit: str | None = None
    branch: str | None = None


class JenkinsNotificationBuildPayload(_Payload):
    number: int
    phase: str
    status: str | None = None
    full_url: str | None = None
    # epoch ms; its meaning depends on the phase (see ``_notification_records``).
    timestamp: int | None = None
    duration: int | None = None
    scm: JenkinsNotificationScmPayload | None = None


class JenkinsNotificationPayload(_Payload):
    """A Notification-plugin body (``JobState`` with ``BuildState`` and ``ScmState``)."""

    name: str
    url: str | None = None
    build: JenkinsNotificationBuildPayload


# --- names ---------------------------------------------------------------------------------


def job_full_name(url: str) -> str:
    """The job full name in a job URL (``job/team/job/app/job/main/`` or absolute), or ""."""
    segments = urlsplit(url).path.strip("/").split("/")
    if "job" not in segments:
        return ""
    segments = segments[segments.index("job") :]
    if len(segments) % 2 or any(segment != "job" for segment in segments[::2]):
        return ""
    return "/".join(unquote(segment) for segment in segments[1::2])


def deployment_environment(name: str, match: re.Match[str]) -> str:
    """The environment named after the deploy word: "Deploy to staging" -> "staging",
    "deploy-production" -> "production", "Deploy prod-eu" -> "prod-eu"; "production" when
    nothing follows. Lower-cased, so "Staging" and "staging" are one environment."""
    rest = re.sub(r"^[A-Za-z]*", "", name[match.end() :])  # "Deploy" of "Deployment to qa"
    words = _WORD.findall(rest)
    while words and words[0].lower() in _FILLER_WORDS:
        words.pop(0)
    return words[0].lower() if words else "production"


def _branch_name(name: str) -> str:
    return _BRANCH_PREFIX.sub("", name)


def _deployment_pattern(pattern: str) -> re.Pattern[str]:
    if not pattern:  # no deployments (an empty regex would make every build one)
        return _NEVER
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"the deployment pattern {pattern!r} is not a valid regex: {error}"
        ) from None


# --- normalisation --------------------------------------------------------------------------


def _time(epoch_ms: int) -> datetime:
    parsed = parse_time(epoch_ms)
    if parsed is None:  # parse_time gives None only for None and ""
        raise ValueError("no timestamp")
    return parsed


def _build_status(result: str | None, *, building: bool) -> RunStatus:
    if building:  # a step may set the result before the build ends
        return RunStatus.RUNNING
    return BUILD_RESULTS.get(result or "", RunStatus.OTHER)


def _build_records(item: RawItem) -> list[Record]:
    build = JenkinsBuildPayload.model_validate(item.payload)
    context = JenkinsBuildContextPayload.model_validate(item.context)
    job = context.job or item.repository
    pattern = _deployment_pattern(context.deployment_pattern)
    run_id = f"{job}#{build.number}"
    status = _build_status(build.result, building=build.building)
    started_at = _time(build.timestamp)
    finished_at = None if build.building else _time(build.timestamp + build.duration)
    revision = build.revision
    sha = revision.sha1 if revision else ""
    branch = _branch_name(revision.branch[0].name) if revision and revision.branch else ""

    run = RunRecord(
        external_id=run_id,
        name=job,
        status=status,
        created_at=started_at,
        started_at=started_at,
        finished_at=finished_at,
        branch=branch,
        sha=sha,
        url=build.url,
    )
    # The job is a deployment, or else each of its stages whose name matches.
    deployment = DeploymentRecord(
        external_id=run_id,
        environment="",
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        sha=sha,
        ref=branch,
        run_external_id=run_id,
        url=build.url,
    )
    deployments: list[DeploymentRecord] = []
    own_name = job.rsplit("/", 1)[-1]
    if job_match := pattern.search(own_name):
        deployments.append(
            replace(deployment, environment=deployment_environment(own_name, job_match))
        )
    jobs: list[JobRecord] = []
    for stage in context.stages:
        job_record = _stage_record(stage, run_id=run_id, url=build.url)
        jobs.append(job_record)
        if stage_match := None if job_match else pattern.search(stage.name):
            deployments.append(
                replace(
                    deployment,
                    external_id=job_record.external_id,
                    environment=deployment_environment(stage.name, stage_match),
                    status=job_record.status,
                    started_at=job_record.started_at,
                    finished_at=job_record.finished_at,
                )
            )
    # The first deployment of the build is the one that first brought its changes.
    deployment_id = deployments[0].external_id if deployments else ""
    return [run, *jobs, *deployments, *_change_records(build, deployment_id)]


def _stage_record(stage: JenkinsStagePayload, *, run_id: str, url: str) -> JobRecord:
    status = STAGE_STATUSES.get(stage.status or "", RunStatus.OTHER)
    # Stages that never ran (NOT_EXECUTED) have no start time: 0.
    started_at = _time(stage.start_time_millis) if stage.start_time_millis > 0 else None
    finished_at = (
        _time(stage.start_time_millis + stage.duration_millis)
        if started_at and status.is_finished
        else None
    )
    return JobRecord(
        external_id=f"{run_id}/{stage.id}",
        run_external_id=run_id,
        name=stage.name,
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        url=url,
    )


def _change_records(build: JenkinsBuildPayload, deployment_id: str) -> list[ChangeRecord]:
    change_sets = [*build.change_sets, *([build.change_set] if build.change_set else [])]
    changes: dict[str, ChangeRecord] = {}
    for change_set in change_sets:
        for change in change_set.items:
            if change_set.kind == "svn":  # no commit hash: the revision number identifies it
                sha = "" if change.revision is None else str(change.revision)
            else:
                sha = change.commit_id or ""
            # ChangeLogSet.Entry.getTimestamp() is -1 when the SCM does not know it.
            if not sha or change.timestamp is None or change.timestamp <= 0 or sha in changes:
                continue
            changes[sha] = ChangeRecord(
                sha=sha,
                committed_at=_time(change.timestamp),
                title=(change.msg or "").strip().partition("\n")[0],
                deployment_external_id=deployment_id,
            )
    return list(changes.values())


def _notification_records(item: RawItem) -> list[Record]:
    """A run from a Notification-plugin body, with the polled build's external id.

    The plugin's ``name`` is the job's short name, so the full name comes from ``url``
    (``job/team/job/app/``). ``build.timestamp`` is start + duration in COMPLETED and the time of
    finalisation in FINALIZED (``JobListener.java``): the end of the build, near enough.
    """
    notification = JenkinsNotificationPayload.model_validate(item.payload)
    build = notification.build
    if build.timestamp is None:
        raise ValueError(
            "a Notification-plugin body without build.timestamp cannot date the run "
            "(plugin too old); the next poll records it"
        )
    job = job_full_name(notification.url or "") or notification.name
    finished_at = _time(build.timestamp)
    started_at = _time(build.timestamp - build.duration) if build.duration else None
    scm = build.scm or JenkinsNotificationScmPayload()
    return [
        RunRecord(
            external_id=f"{job}#{build.number}",
            name=job,
            status=_build_status(build.status, building=False),
            created_at=started_at or finished_at,
            started_at=started_at,
            finished_at=finished_at,
            branch=_branch_name(scm.branch or ""),
            sha=scm.commit or "",
            url=build.full_url or "",
        )
    ]


NORMALISERS: dict[str, Callable[[RawItem], list[Record]]] = {
    "jenkins.build": _build_records,
    "jenkins.notification": _notification_records,
}
