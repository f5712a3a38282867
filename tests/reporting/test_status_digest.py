"""The status digest: due subscribers get their period's report by email (a real SMTP server
on loopback), with the PDF attached, once; failures are tried again on the next run."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import time_machine
from django.conf import settings as django_settings
from django.core import mail
from pypdf import PdfReader

from reporting.models import DigestSubscription, StatusReport
from reporting.status.digest import _claim, digest_subscription_set, status_digests_send
from reporting.status.periods import DASH
from reporting.tasks import send_status_digests
from roadmap import versions
from roadmap.selectors import draft_of
from tests.pipelines.connectors.conftest import closed_port
from tests.reporting.test_status_reports import _deploy

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # the week before: 16-22 Nov, 2026-w47
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)


def _message(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_stakeholders_get_the_weekly_digest_once(org, service, smtp_server):
    """Sam, the organisation's stakeholder, has no subscription: weekly on Mondays. The lead
    and the admin have none either, and get nothing."""
    _deploy(service, date(2026, 11, 20), 10)
    _deploy(service, date(2026, 11, 24), 10)  # the week after: not in the report

    with time_machine.travel(MONDAY, tick=False):
        first = send_status_digests.apply().get()  # eagerly, as the worker would
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        again = send_status_digests()

    assert first == {"sent": 1, "failed": 0, "skipped": 0}
    assert again == {"sent": 0, "failed": 0, "skipped": 0}
    (envelope,) = smtp_server
    assert envelope.rcpt_tos == ["sam@example.test"]
    message = _message(envelope)
    # .strip(): Python folds an encoded subject onto a continuation line, clients unfold it.
    assert message["Subject"].strip() == f"Flightdeck status: Week 47, 2026 (16{DASH}22 Nov)"
    body = _body(message)
    assert "Production deployments: 1 (" in body
    assert "Nothing awaits your decision." in body
    assert "http://localhost:8000/reports/2026-w47/" in body
    (attachment,) = message.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "flightdeck-status-2026-w47.pdf"
    assert "1 production deployments" in _pdf_text(attachment.get_content())
    report = StatusReport.objects.get()
    assert (report.slug, report.scheduled, report.created_by) == ("2026-w47", True, None)
    assert report.recipients == ["sam"]
    subscription = DigestSubscription.objects.get(user=org.users["sam"])
    assert (subscription.frequency, subscription.last_sent_on) == ("weekly", MONDAY.date())


def test_daily_subscribers_share_one_report_and_see_what_awaits_them(org, sue, roadmap):
    """Lee (a lead) and Sue (a stakeholder) chose daily digests; Sam keeps Mondays. On a
    Tuesday both get Monday's report, made once; Sue's lists the version awaiting her."""
    digest_subscription_set(actor=org.users["lee"], frequency="daily", weekday=0)
    digest_subscription_set(actor=sue, frequency="daily", weekday=0)
    versions.version_submit(actor=org.users["lee"], version=draft_of(roadmap))

    with time_machine.travel(TUESDAY, tick=False):
        result = status_digests_send()

    assert result == {"sent": 2, "failed": 0, "skipped": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["lee@example.test", "sue@example.test"]
    assert {m.subject for m in mail.outbox} == {"Flightdeck status: 23 Nov 2026"}
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert "DevOps 2027 version 1" in bodies["sue@example.test"]
    assert "Nothing awaits your decision." in bodies["lee@example.test"]
    report = StatusReport.objects.get()
    assert report.slug == "2026-11-23" and sorted(report.recipients) == ["lee", "sue"]
    assert "Roadmap versions awaiting approval: 1" in bodies["lee@example.test"]


def test_monthly_digests_go_out_on_the_first(org):
    digest_subscription_set(actor=org.users["lee"], frequency="monthly", weekday=0)

    with time_machine.travel(datetime(2026, 11, 29, 6, 0, tzinfo=UTC), tick=False):
        assert status_digests_send()["sent"] == 0
    with time_machine.travel(datetime(2026, 12, 1, 6, 0, tzinfo=UTC), tick=False):
        assert status_digests_send()["sent"] == 1

    (message,) = mail.outbox
    assert message.subject == "Flightdeck status: November 2026"
    assert message.attachments[0][0] == "flightdeck-status-2026-11.pdf"


def test_a_period_already_sent_is_not_sent_again(org):
    """Sam got week 47 on Monday, then moved the digest to Wednesdays: Wednesday's digest
    would be week 47 again, so it is not sent."""
    with time_machine.travel(MONDAY, tick=False):
        assert status_digests_send()["sent"] == 1
    digest_subscription_set(actor=org.users["sam"], frequency="weekly", weekday=2)
    with time_machine.travel(WEDNESDAY, tick=False):
        assert status_digests_send()["sent"] == 0

    assert len(mail.outbox) == 1
    assert DigestSubscription.objects.get(user=org.users["sam"]).last_sent_on == WEDNESDAY.date()


def test_off_members_and_users_without_an_address_get_nothing(org):
    digest_subscription_set(actor=org.users["sam"], frequency="off", weekday=0)
    DigestSubscription.objects.create(user=org.users["mo"])  # a member: reports are not theirs
    lee = org.users["lee"]
    digest_subscription_set(actor=lee, frequency="weekly", weekday=0)
    lee.email = ""
    lee.save(update_fields=["email"])

    with time_machine.travel(MONDAY, tick=False):
        assert status_digests_send() == {"sent": 0, "failed": 0, "skipped": 2}

    assert mail.outbox == []
    assert not StatusReport.objects.exists()


def test_a_failed_send_is_tried_again_on_the_next_run(org, settings, smtp_server):
    listening = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()

    with time_machine.travel(MONDAY, tick=False):
        assert status_digests_send() == {"sent": 0, "failed": 1, "skipped": 0}
    assert DigestSubscription.objects.get(user=org.users["sam"]).last_sent_on is None
    assert StatusReport.objects.get().recipients == []

    settings.EMAIL_PORT = listening
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        assert status_digests_send() == {"sent": 1, "failed": 0, "skipped": 0}
    assert len(smtp_server) == 1
    assert StatusReport.objects.get().recipients == ["sam"]


def test_of_two_racing_runs_one_sends(org):
    subscription = DigestSubscription.objects.create(user=org.users["sam"])
    stale = DigestSubscription.objects.get(pk=subscription.pk)

    assert _claim(subscription, MONDAY.date()) is True
    assert _claim(stale, MONDAY.date()) is False


def test_the_digest_page(org, client_for):
    sam = client_for("sam")
    page = sam.get("/reports/digest/").content.decode()
    assert re.search(r'value="weekly"[^>]*selected', page)  # a stakeholder's default

    response = sam.post("/reports/digest/", {"frequency": "daily", "weekday": "4"})
    assert response.status_code == 302
    subscription = DigestSubscription.objects.get(user=org.users["sam"])
    assert (subscription.frequency, subscription.weekday) == ("daily", 4)

    refused = sam.post("/reports/digest/", {"frequency": "hourly", "weekday": "9"})
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()


def test_the_digest_runs_hourly():
    entry = django_settings.CELERY_BEAT_SCHEDULE["send-status-digests"]
    assert entry["task"] == send_status_digests.name == "reporting.tasks.send_status_digests"
    assert entry["schedule"] == 3600.0
