"""Demo alert rules (shared/DEMO.md): the ones Lee set up, evaluated once so the Alerts page
shows what fired on the demo history. Without EMAIL_HOST, mail goes to the worker's console."""

from __future__ import annotations

from django.db import transaction

from portal.models import Team
from reporting.alerts import alerts_evaluate
from reporting.models import AlertRule

LEE = "lee@acme.example"


@transaction.atomic
def load() -> None:
    if AlertRule.objects.exists():
        return
    mobile = Team.objects.filter(name="Mobile").first()
    AlertRule.objects.bulk_create(
        [
            AlertRule(
                name="Change failure rate over 20%",
                kind=AlertRule.Kind.DORA,
                metric=AlertRule.Metric.CHANGE_FAILURE_RATE,
                threshold=20,
                window_days=90,
                team=mobile,
                emails=LEE,
            ),
            AlertRule(
                name="Lead time over a week",
                kind=AlertRule.Kind.DORA,
                metric=AlertRule.Metric.LEAD_TIME,
                threshold=24 * 7,
                window_days=30,
                team=mobile,
                emails=LEE,
            ),
            AlertRule(
                name="Main red for 4 hours",
                kind=AlertRule.Kind.RED_BRANCH,
                hours=4,
                emails=LEE,
            ),
            AlertRule(
                name="CI source not syncing for 2 hours",
                kind=AlertRule.Kind.SOURCE_FAILING,
                hours=2,
                emails=LEE,
            ),
        ]
    )
    transaction.on_commit(alerts_evaluate)
