"""What the demo history says (shared/DEMO.md): the sources, each team's delivery profile, and
the words its titles are made of. pipelines/demo.py turns this into records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from pipelines.connectors.base import RunStatus
from pipelines.models import CISource

SEED = 20240917
DAYS = 365
BATCH_SIZE = 2000
SUCCESS, FAILURE = RunStatus.SUCCESS.value, RunStatus.FAILURE.value
CANCELLED = RunStatus.CANCELLED.value
OK, FAIL, INCIDENT = "ok", "fail", "incident"  # what a production deployment turns out to be

# slug, kind, name, API base URL, teams whose services it builds, repository prefix
SOURCES = [
    ("acme-github", CISource.Kind.GITHUB, "Acme GitHub", "https://api.github.com/",
     ("Payments", "Checkout", "Platform", "Data"), "acme-retail/"),
    ("acme-gitlab", CISource.Kind.GITLAB, "Acme GitLab", "https://gitlab.acme.example/api/v4/",
     ("Catalog",), "acme-retail/"),
    ("mobile-jenkins", CISource.Kind.JENKINS, "Mobile Jenkins", "https://jenkins.acme.example/",
     ("Mobile",), "mobile/"),
]  # fmt: skip
GITHUB, GITLAB = "https://github.com/{repo}", "https://gitlab.acme.example/{repo}/-"
JENKINS = "https://jenkins.acme.example/job/mobile/job/{slug}/{run}/"


class Web(NamedTuple):
    """Where a kind's records live on the web (``str.format`` templates)."""

    run: str
    job: str
    commit: str
    pull: str
    issue: str


WEB = {
    CISource.Kind.GITHUB: Web(
        GITHUB + "/actions/runs/{run}", GITHUB + "/actions/runs/{run}/job/{job}",
        GITHUB + "/commit/{sha}", GITHUB + "/pull/{n}", GITHUB + "/issues/{n}"),
    CISource.Kind.GITLAB: Web(
        GITLAB + "/pipelines/{run}", GITLAB + "/jobs/{job}", GITLAB + "/commit/{sha}",
        GITLAB + "/merge_requests/{n}", GITLAB + "/issues/{n}"),
    # Jenkins change sets carry no links; Mobile tracks its incidents in Jira.
    CISource.Kind.JENKINS: Web(
        JENKINS, JENKINS + "execution/node/{job}/", "", "", "https://jira.acme.example/browse/MOB-{n}"),
}  # fmt: skip
# job: (stage, minutes it takes)
JOBS = {"build": ("build", (1, 5)), "unit-tests": ("test", (2, 7)),
        "integration-tests": ("test", (4, 12)), "security-scan": ("security", (1, 4)),
        "deploy": ("deploy", (2, 6))}  # fmt: skip
TEST_JOBS = ("unit-tests", "integration-tests")
# What the jobs run on, as each CI system reports it (Jenkins stages do not say): CI cost rates.
RUNNERS = {CISource.Kind.GITHUB: "ubuntu-latest", CISource.Kind.GITLAB: "saas-linux-medium-amd64"}
WORKDAYS = (0, 1, 2, 3, 4)
STANDARD = ("build", "unit-tests", "integration-tests", "security-scan", "deploy")
VERBS = ["Fix", "Add", "Refactor", "Bump", "Tidy", "Speed up", "Log", "Handle", "Remove", "Test"]
THINGS = ["retry on timeout", "empty basket", "currency rounding", "pagination", "feature flag",
          "metrics labels", "error messages", "cache keys", "input validation", "dependencies",
          "slow query", "null address", "locale fallback", "auth token refresh"]  # fmt: skip
INCIDENTS = ["Elevated 5xx errors after release", "Latency spike", "Error-rate alert firing",
             "Customers report failed requests", "Queue backlog growing"]  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """How a team delivers, drawn once per production deployment."""

    per_day: float  # production deploys per deploying day (Mobile: its monthly train instead)
    weekdays: tuple[int, ...]  # the days it deploys on (Monday is 0)
    commits: tuple[int, int]  # changes one deployment brings
    lead_hours: tuple[float, float]  # commit -> production deploy
    wait_hours: tuple[float, float]  # staging -> production (approval, release train, store)
    failure_rate: float  # the deployment fails; a rework deployment follows
    incident_rate: float  # it succeeds but causes an incident, fixed by a rework deployment
    recovery_hours: tuple[float, float]  # from the failure to the fix's commit
    jobs: tuple[str, ...]  # the deploying run's jobs in order, "deploy" last
    pr_share: float  # share of changes that had a pull-request run of their own
    workflow: str = "build-and-deploy"
    flaky: float = 0.0  # a tests job fails, then passes on a re-run of the same sha
    deploy_minutes: tuple[float, float] = (2, 8)
    flag_fixes: bool = False  # incidents end with a remote-config flag flip, not a release


PROFILES = {
    "Payments": Profile(3, WORKDAYS, (1, 3), (0.5, 10), (0.1, 0.3), 0.02, 0.02, (0.05, 0.3),
                        STANDARD, 0.4, "standard-pipeline"),
    "Checkout": Profile(0.75, (1, 3), (3, 8), (30, 140), (4, 30), 0.06, 0.05, (2, 8),
                        ("build", "unit-tests", "deploy"), 0.4),
    "Catalog": Profile(0.92, (2,), (4, 10), (6, 160), (2, 6), 0.07, 0.05, (3, 20),
                       ("build", "unit-tests", "integration-tests", "deploy"), 0.5, "main",
                       flaky=0.25),
    "Mobile": Profile(0, (), (25, 45), (24 * 20, 24 * 70), (24, 72), 0, 0, (4, 20),
                      ("build", "unit-tests", "deploy"), 0.3, deploy_minutes=(20, 60),
                      flag_fixes=True),
    "Platform": Profile(0.7, WORKDAYS, (1, 4), (6, 40), (0.2, 2), 0.04, 0.03, (0.5, 4),
                        STANDARD, 0.5, "standard-pipeline"),
    "Data": Profile(0.92, (3,), (3, 8), (8, 150), (1, 4), 0.07, 0.05, (2, 12),
                    ("build", "unit-tests", "integration-tests", "deploy"), 0.4),
}  # fmt: skip
# Checkout after adopting Platform's standard pipeline (about six months ago).
CHECKOUT_STANDARD = Profile(1.2, WORKDAYS, (1, 3), (1, 20), (0.1, 0.5), 0.03, 0.03, (0.5, 3),
                            STANDARD, 0.6, "standard-pipeline")  # fmt: skip
ADOPTION_DAYS = 182
# Mobile's release-train problems per service (the spring incident is one of ios-app's).
MOBILE_PROBLEMS = {"ios-app": 3, "android-app": 4, "mobile-bff": 3}
RUNNING_NOW = ["payments-api", "ledger", "checkout-web", "catalog-api", "identity"]
