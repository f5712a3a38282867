"""Demo part of POC reviews and the radar (shared/DEMO.md): a dozen POCs across the lifecycle,
with evaluations, evidence and decisions, and a radar with a year of history. Data's POC of an
orchestration tool (Dagster) is in review with two evaluators while the radar shows Dagster in
"assess"; its competitor, Airflow, was put on hold in the spring."""

# ruff: noqa: E501 (the story's tables read best one record per line)
from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from poc import decisions, radar_services, services
from poc.models import Poc, Quadrant, RadarEntry, RingMove
from portal.models import Team

DAY = timedelta(days=1)

# name, quadrant, [(ring, reason, days ago)], adoption pattern, description
RADAR = [
    ("Trunk-based development", "techniques", [("trial", "Checkout tries short-lived branches", 330),
     ("adopt", "Lead time halved in Checkout; the standard pipeline assumes it", 150)], "",
     "Everyone merges to main at least daily behind feature flags."),
    ("Kubernetes", "platforms", [("adopt", "Runs every service since 2024", 360)], "",
     "The runtime for all services."),
    ("Go", "languages-frameworks", [("adopt", "Payments and Platform services", 360)], "",
     "The default for new back-end services."),
    ("Kotlin Multiplatform", "languages-frameworks",
     [("assess", "Mobile wants one codebase for iOS and Android logic", 60)], "",
     "Shared business logic for the mobile apps."),
    ("Jenkins freestyle jobs", "tools", [("trial", "Inherited", 365),
     ("hold", "Untracked configuration; move to pipeline-as-code", 200)], "",
     "Jobs configured by hand in the Jenkins UI."),
    ("Dagster", "tools", [("assess", "Data's POC under way against the events pipeline's cron jobs", 40)],
     "", "Orchestration of data jobs as code, with reruns per step."),
]  # fmt: skip

# team, title, tool, quadrant, problem key, status, owner, evaluators, days ago started,
# length in days, scores per evaluator (fit, security, cost, operability, integration, skills),
# decision (outcome, rationale) or withdrawal reason
POCS = [
    ("Data", "Dagster for the events pipeline", "Dagster", "tools", "orchestration", "in_review",
     "lee", ["lee", "mo"], 45, 40, {"lee": (4, 4, 3, 4, 4, 3), "mo": (5, 3, 3, 3, 4, 2)}, None),
    ("Data", "Airflow for the events pipeline", "Apache Airflow", "tools", "orchestration",
     "decided", "lee", ["lee", "mo"], 240, 30, {"lee": (4, 3, 2, 2, 3, 4), "mo": (3, 3, 2, 2, 3, 3)},
     ("hold", "Fits the problem but a scheduler cluster is more to run than the team can carry.")),
    ("Platform", "Trivy image scanning in CI", "Trivy", "tools", "image-scanning", "decided",
     "lee", ["lee", "ada"], 200, 21, {"lee": (5, 5, 5, 4, 5, 4), "ada": (5, 4, 5, 4, 4, 4)},
     ("adopt", "Finds what we care about in under a minute; free; one step in every pipeline.")),
    ("Platform", "Argo CD for deployments", "Argo CD", "platforms", "gitops", "decided", "lee",
     ["lee", "ada"], 120, 45, {"lee": (4, 4, 4, 3, 4, 3), "ada": (4, 5, 4, 3, 3, 3)},
     ("trial", "GitOps works for Platform; trial with Checkout before making it the standard.")),
    ("Platform", "Terraform Cloud", "Terraform Cloud", "tools", "iac-runs", "decided", "lee",
     ["lee", "ada"], 150, 30, {"lee": (3, 4, 1, 4, 3, 4), "ada": (3, 4, 2, 3, 3, 4)},
     ("reject", "Per-resource pricing costs more than the runners we already have.")),
    ("Payments", "OpenFeature flags", "OpenFeature", "languages-frameworks", "feature-flags",
     "decided", "lee", ["lee", "ada"], 100, 30, {"lee": (4, 4, 4, 4, 3, 3), "ada": (4, 3, 5, 4, 4, 3)},
     ("trial", "Vendor-neutral flags; trial in Payments with the in-house provider.")),
    ("Payments", "Pact contract tests", "Pact", "tools", "contract-testing", "in_review", "lee",
     ["lee", "ada"], 50, 30, {"lee": (4, 4, 4, 3, 3, 2)}, None),
    ("Mobile", "Fastlane release lanes", "Fastlane", "tools", "mobile-release", "running", "kim",
     ["kim", "lee"], 20, 30, {}, None),
    ("Mobile", "Crash-free sessions alerting", "Crashlytics alerts", "tools", "mobile-monitoring",
     "approved", "kim", ["kim"], -5, 21, {}, None),
    ("Catalog", "Renovate for dependency updates", "Renovate", "tools", "dependency-updates",
     "proposed", "lee", ["lee"], -10, 30, {}, None),
    ("Checkout", "Mutation testing with Stryker", "Stryker", "tools", "test-quality", "withdrawn",
     "mo", ["mo"], 80, 21, {}, "Test suite too slow to mutate until the integration tests are split."),
    ("Checkout", "Argo CD for Checkout", "Argo CD", "platforms", "gitops", "running", "mo",
     ["mo", "lee"], 15, 30, {"mo": (4, 4, 4, 4, 4, 3)}, None),
]  # fmt: skip
PROBLEMS = {
    "orchestration": "Nightly cron jobs fail silently; a failed step means rerunning the whole chain by hand.",
    "image-scanning": "Container images reach production without anyone checking their packages for CVEs.",
    "gitops": "Deployments are scripts run from laptops; nobody can say what runs where.",
    "iac-runs": "Terraform runs from laptops with state locks fought over in chat.",
    "feature-flags": "Each service has its own flag code; turning a feature off needs a deployment.",
    "contract-testing": "Integration tests between Payments and Checkout break late and take an hour.",
    "mobile-release": "Releasing the apps takes a person a day of clicking through the stores.",
    "mobile-monitoring": "The spring incident was found by customers: nothing alerts on crashes.",
    "dependency-updates": "Dependencies are months behind; updates come in risky big bangs.",
    "test-quality": "Coverage is high but bugs still slip through: do the tests check anything?",
}
CRITERIA_KEYS = [key for key, _name, _weight in services.DEFAULT_CRITERIA]


@transaction.atomic
def load() -> None:
    if Poc.objects.exists() or RadarEntry.objects.exists():
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    lee = users.get("lee")
    if lee is None:
        return
    now = timezone.now()
    quadrants = {q.slug: q for q in Quadrant.objects.all()}
    for name, quadrant, moves, pattern, description in RADAR:
        (ring, reason, _ago), *later = moves
        entry = radar_services.entry_create(
            actor=lee, name=name, quadrant=quadrants[quadrant], ring=ring, reason=reason,
            description=description, adoption_pattern=pattern,
        )  # fmt: skip
        for ring, reason, _ago in later:
            radar_services.entry_move(actor=lee, entry=entry, ring=ring, reason=reason)
        _backdate(entry, [now - ago * DAY for _ring, _reason, ago in moves])
    teams = {t.name: t for t in Team.objects.all()}
    for row in POCS:
        _poc(row, teams, quadrants, users, now)
    trivy = RadarEntry.objects.filter(slug="trivy").first()
    if trivy is not None:  # every standard pipeline runs the scan: adoption measured from it
        radar_services.entry_update(actor=lee, entry=trivy, adoption_pattern="security-scan*")


def _poc(row, teams, quadrants, users, now) -> None:
    (
        team_name,
        title,
        tool,
        quadrant,
        problem_key,
        status,
        owner,
        evaluators,
        ago,
        days,
        scores,
        end,
    ) = row
    team = teams.get(team_name)
    if team is None:
        return
    starts = (now - ago * DAY).date()
    evaluator_users = [users[name] for name in evaluators]
    scope = [teams["Checkout"]] if team_name == "Data" else []  # Checkout runs nightly jobs too
    poc = services.poc_propose(
        actor=users[owner], team=team, title=title, tool=tool, quadrant=quadrants[quadrant],
        problem=PROBLEMS[problem_key], problem_key=problem_key,
        hypothesis=f"{tool} removes the manual steps and shows failures as they happen.",
        success_criteria="Half the manual interventions; no new on-call load.",
        starts_on=starts, ends_on=starts + days * DAY, owner=users[owner],
        evaluators=evaluator_users, scope_teams=scope, budget=days * 100,
    )  # fmt: skip
    lee = users["lee"]
    steps = {"proposed": [], "approved": ["approve"], "running": ["approve", "start"],
             "in_review": ["approve", "start", "review"], "decided": ["approve", "start", "review"],
             "withdrawn": ["approve", "start"]}[status]  # fmt: skip
    for step in steps:
        actor = lee if step == "approve" else users[owner]
        services.poc_transition(actor=actor, poc=poc, action=step, comment="")
        if step == "start":
            for name, values in scores.items():
                given = zip(CRITERIA_KEYS, values, strict=True)
                services.evaluation_submit(
                    actor=users[name], poc=poc, scores={key: (value, "") for key, value in given}
                )
            services.evidence_add(
                actor=users[owner], poc=poc, title="Trial run on one pipeline",
                measurement="manual reruns 6 a week -> 1 a week",
            )  # fmt: skip
    if status == "withdrawn":
        services.poc_transition(actor=users[owner], poc=poc, action="withdraw", comment=end)
    elif status == "decided":
        outcome, rationale = end
        decisions.poc_decide(
            actor=lee, poc=poc, outcome=outcome, rationale=rationale,
            conditions="Revisit after two quarters of use." if outcome == "trial" else "",
        )  # fmt: skip
        RingMove.objects.filter(poc=poc).update(moved_at=now - (ago - days) * DAY)
        poc.refresh_from_db()
        if poc.radar_entry_id:
            _backdate(poc.radar_entry, None)


def _backdate(entry: RadarEntry, moments) -> None:
    """Put the demo's history at the moments the story tells (services stamp "now")."""
    moves = list(entry.moves.order_by("pk"))
    if moments is not None:
        for move, moment in zip(moves, moments, strict=True):
            RingMove.objects.filter(pk=move.pk).update(moved_at=moment)
    moves = list(entry.moves.order_by("moved_at", "pk"))
    RadarEntry.objects.filter(pk=entry.pk).update(
        created_at=min(m.moved_at for m in moves), moved_at=max(m.moved_at for m in moves)
    )
