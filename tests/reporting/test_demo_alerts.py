"""The demo's alert rules fire on the demo history as DEMO.md tells it: Mobile's change failure
rate and lead time are over their limits. (Whether Catalog's main is red at this moment depends
on the day the demo is loaded, so it is not asserted.)"""

from __future__ import annotations

from django.core import mail

from pipelines import demo as pipelines_demo
from portal import demo as portal_demo
from reporting import demo as reporting_demo
from reporting.models import Alert, AlertRule


def test_the_demo_rules_flag_mobile(db, django_capture_on_commit_callbacks):
    portal_demo.load()
    pipelines_demo.load()

    with django_capture_on_commit_callbacks(execute=True):
        reporting_demo.load()
    reporting_demo.load()  # a second load adds nothing

    assert AlertRule.objects.count() == 4
    open_alerts = {a.rule.name: a for a in Alert.objects.filter(resolved_at=None)}
    assert {"Change failure rate over 20%", "Lead time over a week"} <= set(open_alerts)
    assert "for Mobile" in open_alerts["Lead time over a week"].message
    assert {m.to[0] for m in mail.outbox} == {"lee@acme.example"}
    assert len(mail.outbox) == len(open_alerts)
