"""The weighted score of a POC and the spread between its evaluators: pure functions over the
criteria and the scores, so they can be computed by hand in tests.

- A criterion's mean is the mean of the evaluators' scores (1-5) on it.
- An evaluator's weighted score is sum(weight x score) / sum(weight) over the criteria.
- The POC's weighted score is the same sum over the criterion means (equal to the mean of the
  evaluators' weighted scores when every evaluator scores every criterion, as the service requires).
- The spread is the highest evaluator's weighted score less the lowest (0 with one evaluator),
  and, per criterion, the highest score less the lowest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CriterionScores:
    key: str
    name: str
    weight: Decimal
    scores: list[tuple[str, int, str]]  # (evaluator, score, note)

    @property
    def mean(self) -> float | None:
        return sum(s for _, s, _ in self.scores) / len(self.scores) if self.scores else None

    @property
    def spread(self) -> int | None:
        values = [s for _, s, _ in self.scores]
        return max(values) - min(values) if values else None


@dataclass(frozen=True)
class Summary:
    criteria: list[CriterionScores]
    by_evaluator: dict[str, float]
    weighted: float | None
    spread: float | None


def _weighted(pairs: list[tuple[Decimal, float]]) -> float | None:
    total = sum(float(weight) for weight, _ in pairs)
    return sum(float(weight) * value for weight, value in pairs) / total if total else None


def summarise(
    criteria: list[tuple[str, str, Decimal]], scores: list[tuple[str, str, int, str]]
) -> Summary:
    """``criteria``: (key, name, weight) in order; ``scores``: (evaluator, key, score, note)."""
    by_key: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    by_evaluator: dict[str, list[tuple[Decimal, float]]] = defaultdict(list)
    weights = {key: weight for key, _name, weight in criteria}
    for evaluator, key, score, note in scores:
        if key in weights:
            by_key[key].append((evaluator, score, note))
            by_evaluator[evaluator].append((weights[key], score))
    rows = [CriterionScores(key, name, weight, by_key[key]) for key, name, weight in criteria]
    evaluators = {name: _weighted(pairs) for name, pairs in sorted(by_evaluator.items())}
    means = [(row.weight, row.mean) for row in rows if row.mean is not None]
    totals = list(evaluators.values())
    return Summary(
        criteria=rows,
        by_evaluator=evaluators,
        weighted=_weighted(means),
        spread=max(totals) - min(totals) if totals else None,
    )
