"""Demo part of maturity (shared/DEMO.md): the default model from the DORA capabilities and
three quarterly rounds per team, targets and an improvement action. Checkout's deployment
automation rises after it adopts the standard pipeline; Mobile's monitoring is its gap after
the spring incident."""

from __future__ import annotations

import zlib
from datetime import date

from django.contrib.auth import get_user_model
from django.db import transaction

from maturity import actions as maturity_actions
from maturity import services
from maturity.catalogue import parse_model
from maturity.management.commands.maturity_import import DEFAULT
from maturity.models import MaturityModel, Rating
from portal.models import Team
from portal.uploads import Upload

# team -> (its usual level, the member who fills its assessments)
PROFILES = {
    "Payments": (4, "lee"),
    "Checkout": (3, "mo"),
    "Catalog": (2, "lee"),
    "Mobile": (2, "kim"),
    "Platform": (4, "lee"),
    "Data": (3, "lee"),
}
ROUNDS = ["2026-Q2", "2026-Q3"]  # reviewed; the current quarter is left as a draft
CURRENT = "2026-Q4"
# (team, capability) -> level per round, where the story says so
STORY = {
    ("Checkout", "deployment-automation"): [2, 4, 4],
    ("Checkout", "continuous-delivery"): [2, 3, 4],
    ("Mobile", "monitoring-and-observability"): [2, 1, 1],
    ("Mobile", "proactive-failure-notification"): [2, 1, 2],
}


def _level(team: str, key: str, round_index: int) -> int:
    if (team, key) in STORY:
        return STORY[(team, key)][round_index]
    base = PROFILES[team][0]
    wobble = zlib.crc32(f"{team}{key}".encode()) % 3 - 1  # -1, 0 or +1, the same every load
    return max(1, min(5, base + wobble + (round_index == 2 and wobble < 0)))


SPRING_REVIEW = b"""# Post-incident review: checkout crash on iOS 5.2 (April)

Impact: 3 h 40 min of failed payments on iOS; found by customer support, not by monitoring.
Why late: no alert on crash-free sessions; on-call was not paged.
Actions: alert on crash-free sessions below 99.5 %, page on-call, add the release to the dashboard.
"""


def _evidence_of_the_spring_incident(assessment, actor) -> None:
    rating = assessment.ratings.get(capability__key="monitoring-and-observability")
    rating.comment = "The spring incident was found by support, not by us: see the review."
    rating.save(update_fields=["comment"])
    upload = Upload("spring-incident-review.md", "text/markdown", SPRING_REVIEW)
    services.evidence_attach(actor=actor, rating=rating, upload=upload)


@transaction.atomic
def load() -> None:
    spec = parse_model(DEFAULT.read_text(encoding="utf-8"))
    if MaturityModel.objects.filter(slug=spec.slug).exists():
        return
    model = services.model_import(actor=None, spec=spec)
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["lee", "mo", "kim"])
    }
    lee = users.get("lee")
    for team in Team.objects.filter(name__in=PROFILES):
        filler = users.get(PROFILES[team.name][1]) or lee
        for index, period in enumerate([*ROUNDS, CURRENT]):
            assessment = services.assessment_create(
                actor=lee, team=team, model=model, period=period
            )
            ratings = list(assessment.ratings.select_related("capability"))
            for rating in ratings:
                rating.level = _level(team.name, rating.capability.key, index)
            Rating.objects.bulk_update(ratings, ["level"])
            if period == CURRENT and team.name == "Mobile":
                _evidence_of_the_spring_incident(assessment, lee)
            if period == CURRENT:
                if team.name != "Checkout":  # Checkout's current round is still a draft
                    services.assessment_submit(actor=filler, assessment=assessment)
                continue
            services.assessment_submit(actor=filler, assessment=assessment)
            services.assessment_review(actor=lee, assessment=assessment, accept=True)
    # Lee aims at level 3 everywhere, 4 on the keys the DORA numbers hang on.
    keys = list(model.capabilities.values_list("key", flat=True))
    core = {"continuous-integration", "deployment-automation", "monitoring-and-observability"}
    maturity_actions.targets_set(
        actor=lee, model=model, levels={key: 4 if key in core else 3 for key in keys}
    )
    mobile = Team.objects.filter(name="Mobile").first()
    if mobile is not None:
        maturity_actions.action_create(
            actor=lee,
            team=mobile,
            capability_key="monitoring-and-observability",
            title="Alert on crash-free sessions and page on-call (after the spring incident)",
            owner=users.get("kim"),
            due_date=date(2027, 1, 31),
        )
