"""Demo part of production support (shared/DEMO.md), loaded after the roadmap, maturity and
training parts because the review's actions point at what they made:

- Mobile's spring incident (the history's SEV1 crash) gets its timeline, its owner and
  commander, and a published post-incident review whose actions became the maturity action for
  the monitoring gap, the "Mobile release train" initiative and the team's on-call training; one
  action is done, one is overdue.
- Acme's Alertmanager fires now: fraud-scoring's error rate, through the real webhook path
  (stored raw event, normalised by the same code as a live delivery). It is an open SEV2 on the
  Payments team's home page, and it burns fraud-scoring's error budget (reporting/demo_slos.py).
"""

# ruff: noqa: E501 (the story's text reads best one entry per line)
from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from maturity.models import ImprovementAction
from pipelines import services as source_services
from pipelines.incidents import services as support
from pipelines.ingest import rawevent_store_webhook, rawevents_process
from pipelines.models import CISource, Incident, IncidentEvent, ReviewAction
from portal.models import Team
from roadmap.models import Initiative
from training.models import TrainingItem

SPRING = "iOS app crashes at checkout after the spring release"
ALERTMANAGER = "acme-alertmanager"
HOUR = timedelta(hours=1)

# minutes after opening, kind, who, text
SPRING_TIMELINE = [
    (0, "opened", "Customer care", "Customers report the iOS app closing when they tap Pay."),
    (95, "acknowledged", "kim", "Crash reports confirm it: checkout on iOS 17 only."),
    (
        140,
        "update",
        "kim",
        "Cause found: the new payment sheet reads a field the old API does not send.",
    ),
    (600, "update", "kim", "Hotfix submitted to the App Store with an expedited review."),
]
REVIEW = {
    "impact": "For about a day and a half, iOS customers could not pay in the app: roughly 18% of mobile orders failed at the payment step.",
    "timeline_summary": "Released Thursday evening; support raised it Friday morning from customer calls; cause found by noon; hotfix in the store Saturday afternoon.",
    "causes": "#monitoring No crash-rate alert: customers told us first. #release-process The release went to 100% of users at once, and the payment sheet change was not tested against the old API.",
    "went_well": "Support escalated within minutes; the expedited review took four hours.",
    "went_badly": "Nobody on call for the apps; the hotfix waited for the next morning's build.",
}
# title, owner, days from today due, done, what it became
ACTIONS = [
    ("Alert on crash-free sessions below 99.5%", "kim", -120, True, "maturity"),
    ("Staged rollouts for the iOS app (5% first)", "kim", 40, False, "roadmap"),
    ("On-call training for the Mobile team", "kim", 30, False, "training"),
    ("Runbook for expedited App Store reviews", "kim", -10, False, None),
]


@transaction.atomic
def load() -> None:
    if CISource.objects.filter(slug=ALERTMANAGER).exists():
        return
    users = {u.username: u for u in get_user_model().objects.all()}
    spring = Incident.objects.filter(title=SPRING).first()
    if spring is None or not {"lee", "kim"} <= users.keys():
        return
    _spring_review(spring, users)
    _alert_firing_now(users["lee"])


def _spring_review(spring: Incident, users) -> None:
    mobile = Team.objects.get(name="Mobile")
    Incident.objects.filter(pk=spring.pk).update(owner_team=mobile, commander=users["kim"])
    IncidentEvent.objects.bulk_create(
        [
            IncidentEvent(
                incident=spring,
                kind=kind,
                at=spring.opened_at + timedelta(minutes=minutes),
                actor=users.get(who),
                actor_name="" if who in users else who,
                text=text,
            )
            for minutes, kind, who, text in SPRING_TIMELINE
        ]
        + [IncidentEvent(incident=spring, kind="resolved", at=spring.resolved_at, actor=users["kim"], text="Hotfix 24.4.1 live; crash rate back to normal.")]
    )  # fmt: skip
    Incident.objects.filter(pk=spring.pk).update(
        acknowledged_at=spring.opened_at + timedelta(minutes=95)
    )
    [review] = support.reviews_require(incident_ids=[spring.pk])
    review = support.review_update(actor=users["kim"], review=review, **REVIEW)
    for title, owner, due_in, done, becomes in ACTIONS:
        action = support.action_add(
            actor=users["kim"], review=review, title=title, team=mobile, owner=users[owner],
            due_on=timezone.localdate() + timedelta(days=due_in),
        )  # fmt: skip
        _link(action, becomes, mobile)
        if done:
            support.action_done(actor=users["kim"], action=action)
    support.review_publish(actor=users["lee"], review=review)


def _link(action: ReviewAction, becomes: str | None, team: Team) -> None:
    """Point the action at what the other parts of the demo already made of it."""
    target = {
        "maturity": ("improvement_action", ImprovementAction.objects.filter(team=team)),
        "roadmap": ("initiative", Initiative.objects.filter(title="Mobile release train")),
        "training": ("training_item", TrainingItem.objects.filter(plan__team=team)),
    }.get(becomes)
    if target is None:
        return
    field, candidates = target
    found = candidates.order_by("pk").first()
    if found is not None:
        ReviewAction.objects.filter(pk=action.pk).update(**{field: found})


def _alert_firing_now(lee) -> None:
    source = source_services.source_create(
        actor=lee, kind=CISource.Kind.ALERTMANAGER, name="Acme Alertmanager", slug=ALERTMANAGER,
        base_url="https://alertmanager.acme.example/", webhook_secret="demo-alertmanager-token",  # noqa: S106 (demo)
        is_active=False,  # a fake host: nothing polls it (Alertmanager is never polled anyway)
    )  # fmt: skip
    started = timezone.now() - timedelta(minutes=40)
    labels = {"alertname": "HighErrorRate", "service": "fraud-scoring", "severity": "error"}
    payload = {
        "version": "4", "groupKey": '{}:{alertname="HighErrorRate"}', "truncatedAlerts": 0,
        "status": "firing", "receiver": "flightdeck", "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": labels, "commonAnnotations": {}, "externalURL": "https://alertmanager.acme.example",
        "alerts": [{
            "status": "firing", "labels": labels, "fingerprint": "5c1a0e6f2b9d4e71",
            "annotations": {"summary": "fraud-scoring answers 7% of requests with 5xx",
                            "description": "Error ratio over 5 minutes above 2% since the last deployment."},
            "startsAt": started.isoformat(), "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://prometheus.acme.example/graph?g0.expr=job%3Afraud_scoring_errors%3Aratio5m",
        }],
    }  # fmt: skip
    stored, _ = rawevent_store_webhook(
        source=source, event="", delivery_id="demo:fraud-scoring-errors", payload=payload
    )
    rawevents_process(ids=[stored.pk])
    incident = Incident.objects.get(source=source)
    support.incident_acknowledge(actor=lee, incident=incident, at=started + timedelta(minutes=6))
    support.incident_note(
        actor=lee, incident=incident, text="Rolling back the last fraud model; Payments on it."
    )
