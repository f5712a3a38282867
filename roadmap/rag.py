"""Red / amber / green for a deliverable from its time, cost and quality: pure functions.

Each colour comes with the reason a reader needs ("amber: cost: 92% of budget spent with 40% done").

Time: an accepted deliverable is green. Past its due date and not accepted: red. Otherwise the
finish is forecast from the pace so far (start + elapsed / progress): on or before the due date
green, within ``TIME_SLACK`` of the planned duration late amber, later red. With nothing done
yet there is no pace: green while under ``IDLE_AMBER`` of the time has gone, amber until
``IDLE_RED``, red beyond.

Cost: spent more than the budget: red. Spent a larger share of the budget than the share of the
work done (by more than ``COST_SLACK`` points): amber, as the forecast at completion then exceeds
the budget. Otherwise green. No budget: no colour.

Quality: any target missed: red; any not yet known (no data, not checked): amber; all met: green.
No targets: no colour.

The deliverable's colour is the worst of the three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

TIME_SLACK = 0.10
IDLE_AMBER = 0.20
IDLE_RED = 0.50
COST_SLACK = 10  # percentage points


class Rag(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


SEVERITY = {Rag.GREEN: 0, Rag.AMBER: 1, Rag.RED: 2}


@dataclass(frozen=True)
class Verdict:
    colour: Rag
    reason: str

    def __str__(self) -> str:
        return f"{self.colour}: {self.reason}"


@dataclass(frozen=True)
class TargetResult:
    name: str
    met: bool | None  # None: not known yet
    detail: str  # "change failure rate 12.5% (at most 10)" or "not checked yet"


@dataclass(frozen=True)
class RagStatus:
    time: Verdict
    cost: Verdict | None
    quality: Verdict | None

    @property
    def parts(self) -> list[tuple[str, Verdict]]:
        named = [("time", self.time), ("cost", self.cost), ("quality", self.quality)]
        return [(name, verdict) for name, verdict in named if verdict is not None]

    @property
    def colour(self) -> Rag:
        return max((v.colour for _n, v in self.parts), key=SEVERITY.__getitem__)

    @property
    def reasons(self) -> list[str]:
        """The reasons behind the overall colour (those of the parts that have it)."""
        return [f"{name}: {v.reason}" for name, v in self.parts if v.colour == self.colour]


def _pct(value: float) -> str:
    return f"{round(value * 100)}%"


def time_verdict(
    *, starts_on: date, due_on: date, progress: int, today: date, accepted: bool = False
) -> Verdict:
    done = progress / 100
    if accepted:
        return Verdict(Rag.GREEN, "accepted")
    if today > due_on:
        days = (today - due_on).days
        return Verdict(Rag.RED, f"{days} days past due with {_pct(done)} done")
    planned = max((due_on - starts_on).days, 1)
    elapsed = max((today - starts_on).days, 0)
    if done >= 1:
        return Verdict(Rag.GREEN, "all work done, awaiting acceptance")
    if done == 0:
        gone = elapsed / planned
        colour = Rag.GREEN if gone < IDLE_AMBER else Rag.AMBER if gone < IDLE_RED else Rag.RED
        return Verdict(colour, f"not started with {_pct(gone)} of the time gone")
    forecast_days = elapsed / done
    late = forecast_days - planned
    if late <= 0:
        return Verdict(Rag.GREEN, f"on track: {_pct(done)} done, {_pct(elapsed / planned)} of time")
    colour = Rag.AMBER if late <= TIME_SLACK * planned else Rag.RED
    return Verdict(
        colour,
        f"forecast {round(late)} days late: {_pct(done)} done with {_pct(elapsed / planned)} "
        "of the time gone",
    )


def cost_verdict(*, budget: Decimal, spent: Decimal, progress: int) -> Verdict | None:
    if budget <= 0:
        return None
    share = float(spent / budget)
    described = f"{_pct(share)} of budget spent with {progress}% done"
    if share > 1:
        return Verdict(Rag.RED, described)
    if share * 100 - progress > COST_SLACK:
        return Verdict(Rag.AMBER, described)
    return Verdict(Rag.GREEN, described)


def quality_verdict(targets: Sequence[TargetResult]) -> Verdict | None:
    if not targets:
        return None
    missed = [t for t in targets if t.met is False]
    unknown = [t for t in targets if t.met is None]
    if missed:
        return Verdict(Rag.RED, "; ".join(f"{t.name} missed: {t.detail}" for t in missed))
    if unknown:
        return Verdict(Rag.AMBER, "; ".join(f"{t.name}: {t.detail}" for t in unknown))
    return Verdict(
        Rag.GREEN, "target met" if len(targets) == 1 else f"all {len(targets)} targets met"
    )


def met(value: float | None, comparison: str, threshold: float) -> bool | None:
    """``value`` against ``threshold``: "lte" (at most) or "gte" (at least); None when unknown."""
    if value is None:
        return None
    return value <= threshold if comparison == "lte" else value >= threshold
