"""Weighted score and spread, computed by hand for a small case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from poc.scoring import summarise

CRITERIA = [("fit", "Fit", Decimal(3)), ("cost", "Cost", Decimal(1)), ("ops", "Ops", Decimal(2))]


def test_weighted_score_and_spread_by_hand():
    scores = [
        ("ana", "fit", 4, ""), ("ana", "cost", 2, ""), ("ana", "ops", 5, "easy to run"),
        ("mo", "fit", 2, ""), ("mo", "cost", 4, ""), ("mo", "ops", 3, ""),
    ]  # fmt: skip

    summary = summarise(CRITERIA, scores)

    # ana: (3x4 + 1x2 + 2x5) / (3+1+2) = 24/6 = 4.0;  mo: (3x2 + 1x4 + 2x3) / 6 = 16/6
    assert summary.by_evaluator == pytest.approx({"ana": 4.0, "mo": 16 / 6})
    # criterion means 3, 3, 4: (3x3 + 1x3 + 2x4) / 6 = 20/6, the mean of 4.0 and 16/6
    assert summary.weighted == pytest.approx(20 / 6)
    assert summary.spread == pytest.approx(4.0 - 16 / 6)
    assert [(c.key, c.mean, c.spread) for c in summary.criteria] == [
        ("fit", 3.0, 2),
        ("cost", 3.0, 2),
        ("ops", 4.0, 2),
    ]
    assert summary.criteria[2].scores[0] == ("ana", 5, "easy to run")


def test_one_evaluator_has_no_spread_and_nobody_has_no_score():
    alone = summarise(
        CRITERIA, [("ana", "fit", 5, ""), ("ana", "cost", 1, ""), ("ana", "ops", 2, "")]
    )
    empty = summarise(CRITERIA, [])

    assert alone.weighted == pytest.approx((15 + 1 + 4) / 6)  # 20/6
    assert alone.spread == 0
    assert (empty.weighted, empty.spread, empty.by_evaluator) == (None, None, {})
    assert [c.mean for c in empty.criteria] == [None, None, None]
