"""RAG from time, cost and quality, on small hand-computed cases.

Time: planned 100 days from 1 Jan 2027 (due 11 Apr 2027).
- day 60 with 57% done: forecast 60 / 0.57 = 105.26 days, 5.26 late <= 10 (10% of 100): amber.
- day 60 with 60% done: forecast 100 days, on time: green.
- day 60 with 50% done: forecast 120 days, 20 late > 10: red.
- not started: 15/100 = 15% of time gone < 20%: green; 30%: amber; 55%: red.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from roadmap import rag

START = date(2027, 1, 1)
DUE = START + timedelta(days=100)


def day(n: int) -> date:
    return START + timedelta(days=n)


@pytest.mark.parametrize(
    ("today", "progress", "colour", "reason"),
    [
        (day(60), 57, "amber", "forecast 5 days late: 57% done with 60% of the time gone"),
        (day(60), 60, "green", "on track: 60% done, 60% of time"),
        (day(60), 50, "red", "forecast 20 days late: 50% done with 60% of the time gone"),
        (day(15), 0, "green", "not started with 15% of the time gone"),
        (day(30), 0, "amber", "not started with 30% of the time gone"),
        (day(55), 0, "red", "not started with 55% of the time gone"),
        (day(112), 80, "red", "12 days past due with 80% done"),
        (day(90), 100, "green", "all work done, awaiting acceptance"),
    ],
)
def test_time(today, progress, colour, reason):
    verdict = rag.time_verdict(starts_on=START, due_on=DUE, progress=progress, today=today)
    assert (verdict.colour, verdict.reason) == (colour, reason)


def test_an_accepted_deliverable_is_green_on_time_even_when_late():
    verdict = rag.time_verdict(
        starts_on=START, due_on=DUE, progress=100, today=day(150), accepted=True
    )
    assert verdict.colour == "green"


@pytest.mark.parametrize(
    ("spent", "progress", "colour", "reason"),
    [
        # 9 200 of 10 000 = 92% spent with 40% done: 52 points ahead of the work: amber.
        ("9200", 40, "amber", "92% of budget spent with 40% done"),
        # 4 500 = 45% with 40% done: 5 points ahead, within the 10 of slack: green.
        ("4500", 40, "green", "45% of budget spent with 40% done"),
        # 10 100 = 101%: over budget whatever the progress: red.
        ("10100", 100, "red", "101% of budget spent with 100% done"),
    ],
)
def test_cost(spent, progress, colour, reason):
    verdict = rag.cost_verdict(budget=Decimal(10000), spent=Decimal(spent), progress=progress)
    assert (verdict.colour, verdict.reason) == (colour, reason)


def test_no_budget_no_cost_colour():
    assert rag.cost_verdict(budget=Decimal(0), spent=Decimal(5), progress=10) is None


def test_quality_is_the_worst_target_and_names_it():
    met = rag.TargetResult("CFR", True, "8 over 30 days")
    unknown = rag.TargetResult("Runbook", None, "not checked yet")
    missed = rag.TargetResult("Deploys", False, "0.2 over 30 days (wanted at least 1)")
    assert rag.quality_verdict([met]).colour == "green"
    assert str(rag.quality_verdict([met, unknown])) == "amber: Runbook: not checked yet"
    assert str(rag.quality_verdict([met, unknown, missed])) == (
        "red: Deploys missed: 0.2 over 30 days (wanted at least 1)"
    )
    assert rag.quality_verdict([]) is None


def test_the_deliverable_takes_the_worst_colour_with_its_reasons():
    status = rag.RagStatus(
        time=rag.Verdict(rag.Rag.GREEN, "on track"),
        cost=rag.Verdict(rag.Rag.AMBER, "92% of budget spent with 40% done"),
        quality=rag.Verdict(rag.Rag.AMBER, "Runbook: not checked yet"),
    )
    assert status.colour == "amber"
    assert status.reasons == [
        "cost: 92% of budget spent with 40% done",
        "quality: Runbook: not checked yet",
    ]


def test_targets_compare_both_ways():
    assert rag.met(10.0, "lte", 10) is True
    assert rag.met(10.1, "lte", 10) is False
    assert rag.met(0.9, "gte", 1) is False
    assert rag.met(None, "gte", 1) is None
