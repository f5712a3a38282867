"""The demo's alert rules fire on the demo history as DEMO.md tells it: Mobile's monthly train
keeps its lead time over a week. (The history ends at the moment it is loaded, so whether a
failed Mobile release sits inside the last 90 days, or Catalog's main is red right now, depends
on when the test runs: those are not asserted.)"""

from __future__ import annotations

from django.core import mail

from pipelines import demo as pipelines_demo
from portal import demo as portal_demo
from reporting import demo as reporting_demo
from reporting.models import Alert, AlertRule


def test_the_demo_rules_flag_mobile(db, django_capture_on_commit_callbacks):
    portal_demo.load()
    pipelines_demo.history_load()

    with django_capture_on_commit_callbacks(execute=True):
        reporting_demo.load()
    reporting_demo.load()  # a second load adds nothing

    assert AlertRule.objects.count() == 4
    open_alerts = {a.rule.name: a for a in Alert.objects.filter(resolved_at=None)}
    assert "for Mobile" in open_alerts["Lead time over a week"].message
    assert {m.to[0] for m in mail.outbox} == {"lee@acme.example"}
    assert len(mail.outbox) == len(open_alerts)  # one email per alert opened
