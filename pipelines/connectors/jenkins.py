"""Jenkins: the builds of one job (folders and multibranch allowed) through the remote access API,
Pipeline stages through the Pipeline REST API plugin (``wfapi``), Notification-plugin webhooks.

Jenkins has no cursors, no time filter and no rate-limit contract (CI-APIS.md section 3), so the
sync pages ``allBuilds`` newest-first with range specifiers and stops at the highest build number
it already stored; always with ``tree=`` and small ranges, to spare the controller.

This module holds the connector (authentication, fetching, webhook items, and ``normalise``
dispatching to ``jenkins_payloads``, which has the payload models and the mappings to records).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pipelines.connectors.base import Connector, RawItem, Record, Repository
from pipelines.connectors.http import ConnectorError
from pipelines.connectors.jenkins_payloads import NORMALISERS, job_full_name

logger = logging.getLogger(__name__)

# ``revision`` is asked for as well: Subversion change sets identify a change by it (Jenkins
# ignores names a ``tree=`` asks for that an object does not have).
_CHANGE_SET_FIELDS = "kind,items[commitId,revision,timestamp,msg,authorEmail]"
BUILD_TREE = (
    "number,url,timestamp,duration,result,building,"
    "actions[lastBuiltRevision[SHA1,branch[name]],causes[shortDescription]],"
    f"changeSets[{_CHANGE_SET_FIELDS}],changeSet[{_CHANGE_SET_FIELDS}]"
)

# Notification-plugin phases that carry a final result (Phase.java).
FINAL_PHASES = {"COMPLETED", "FINALIZED"}


class JenkinsConnector(Connector):
    kind = "jenkins"
    # Jenkins sends no event header; the Notification plugin's body says what happened.
    webhook_event_header = ""
    page_size = 100  # builds per allBuilds range request

    @staticmethod
    def auth_headers(token: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        user, colon, api_token = token.partition(":")
        if not colon or not user or not api_token:
            raise ValueError(
                "a Jenkins token is 'user:apitoken': the user name, a colon, then an API token"
            )
        return {}, (user, api_token)

    def fetch(
        self, repository: Repository, *, state: dict[str, Any], since: datetime, full: bool
    ) -> Iterator[RawItem]:
        """Yield the builds finished since the last sync: new ones, and those running then.

        1. Page ``allBuilds`` newest-first (``{0,100}``, ``{100,200}``, ...) down to the highest
           build number already stored (``state["max_number"]``; ignored when ``full``), a build
           older than ``since``, or the last page.
        2. Re-read each build remembered as building (``state["building"]``); one that is gone
           (404, discarded by log rotation) is forgotten.
        3. For each finished build read its Pipeline stages (a 404 means not a Pipeline job).
        4. Yield the finished builds oldest-first; remember the running ones to re-read them.
        """
        job = repository.name
        path = job_path(job)
        after = 0 if full else int(state.get("max_number", 0))
        builds = self._builds_since(path, job=job, after=after, since=since)
        for number in list(state.get("building", [])):
            if number in builds:
                continue
            build = self._build(path, number)
            if build is None:
                logger.info("%s#%s is gone (log rotation); no longer polled", job, number)
                state["building"] = [n for n in state["building"] if n != number]
            else:
                builds[number] = build
        context = {"job": job, "deployment_pattern": self.options.deployment_pattern}
        for number in sorted(builds):
            build = builds[number]
            if build.get("building"):  # only finished builds are yielded (the contract)
                state["building"] = sorted({*state.get("building", []), number})
            else:
                yield RawItem(
                    kind="jenkins.build",
                    repository=job,
                    payload=build,
                    context={**context, "stages": self._stages(path, number)},
                )
                # Advanced once the engine took the item, so a sync stopped here resumes here.
                state["building"] = [n for n in state.get("building", []) if n != number]
            state["max_number"] = max(int(state.get("max_number", 0)), number)

    @staticmethod
    def normalise(item: RawItem) -> list[Record]:
        normaliser = NORMALISERS.get(item.kind)
        if normaliser is None:
            raise ValueError(f"not a Jenkins item: {item.kind!r}")
        return normaliser(item)

    @staticmethod
    def webhook_items(event: str, payload: dict[str, Any]) -> list[RawItem]:
        """A Notification-plugin body once the build has a result; [] for earlier phases.

        A malformed body in a final phase is still stored (and rejected by ``normalise``).
        """
        if "build" not in payload:  # not a notification at all
            return []
        build = payload["build"]
        if not isinstance(build, dict):  # a notification gone wrong: recorded as failed
            raise ValueError("build: not an object")
        if build.get("phase") not in FINAL_PHASES:
            return []
        name = str(payload.get("name") or "")
        repository = job_full_name(str(payload.get("url") or "")) or name
        return [RawItem(kind="jenkins.notification", repository=repository, payload=payload)]

    # --- requests -------------------------------------------------------------------------

    def _builds_since(
        self, path: str, *, job: str, after: int, since: datetime
    ) -> dict[int, dict[str, Any]]:
        since_ms = since.timestamp() * 1000
        builds: dict[int, dict[str, Any]] = {}
        start = 0
        while True:
            end = start + self.page_size
            response = self.http.get_json(
                f"{path}api/json", {"tree": f"allBuilds[{BUILD_TREE}]{{{start},{end}}}"}
            )
            page = response.get("allBuilds") if isinstance(response, dict) else None
            if not isinstance(page, list):
                raise ConnectorError(f"{job} is not a job with builds (a folder?)", permanent=True)
            for build in page:
                number, timestamp = _number_and_timestamp(job, build)
                if number <= after or timestamp < since_ms:
                    return builds
                # A build started between two range requests shifts the ranges by one.
                builds.setdefault(number, build)
            if len(page) < self.page_size:
                return builds
            start = end

    def _build(self, path: str, number: int) -> dict[str, Any] | None:
        try:
            return self.http.get_json(f"{path}{number}/api/json", {"tree": BUILD_TREE})
        except ConnectorError as error:
            if error.status == 404:
                return None
            raise

    def _stages(self, path: str, number: int) -> list[dict[str, Any]]:
        try:
            describe = self.http.get_json(f"{path}{number}/wfapi/describe")
        except ConnectorError as error:
            if error.status == 404:  # not a Pipeline job, or the plugin is not installed
                return []
            raise
        stages = describe.get("stages") if isinstance(describe, dict) else None
        return stages if isinstance(stages, list) else []


# --- paths and build numbers ---------------------------------------------------------------


def job_path(full_name: str) -> str:
    """``team/app/main`` -> ``job/team/job/app/job/main/`` (each segment URL-quoted)."""
    return "".join(f"job/{quote(segment, safe='')}/" for segment in full_name.split("/"))


def _number_and_timestamp(job: str, build: Any) -> tuple[int, int]:
    try:
        return int(build["number"]), int(build["timestamp"])
    except (TypeError, KeyError, ValueError):
        raise ConnectorError(
            f"{job}: a build without a number or timestamp: {build!r:.200}", permanent=True
        ) from None
