"""The POC lifecycle, evaluations, evidence and the decision that moves the radar."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from poc import decisions, services
from poc.models import Decision, Poc, RadarEntry, RingMove
from poc.selectors import score_summary, timeline
from portal.exceptions import ApplicationError, ConflictError
from tests.poc.conftest import run_to_review
from training.models import TrainingItem, TrainingPlan


def _score(actor, poc, fit, cost, ops):
    return services.evaluation_submit(
        actor=actor, poc=poc, scores={"fit": (fit, ""), "cost": (cost, ""), "ops": (ops, "")}
    )


def test_a_poc_runs_from_proposal_to_decision_and_lands_on_the_radar(org, ana, proposed):
    lee, mo = org.users["lee"], org.users["mo"]
    assert proposed.status == Poc.Status.PROPOSED
    with pytest.raises(PermissionDenied):
        services.poc_transition(actor=mo, poc=proposed, action="approve")  # leads approve

    poc = run_to_review(org, proposed)
    _score(mo, poc, 2, 4, 3)
    _score(ana, poc, 4, 2, 5)
    services.evidence_add(
        actor=ana, poc=poc, title="Rerun drill", measurement="rerun 40 min -> 3 min"
    )
    decision = decisions.poc_decide(
        actor=lee,
        poc=poc,
        outcome="trial",
        rationale="Reruns by step work; operability to prove at scale.",
        review_by=date.today() + timedelta(days=90),
        follow_ups=[("training", "Dagster workshop"), ("roadmap", "Move nightly jobs")],
    )

    poc.refresh_from_db()
    assert (poc.status, decision.outcome) == ("decided", "trial")
    entry = poc.radar_entry
    assert (entry.name, entry.ring, entry.quadrant.slug) == ("Dagster", "trial", "tools")
    (move,) = entry.moves.all()
    assert (move.from_ring, move.to_ring, move.poc) == ("", "trial", poc)
    assert score_summary(poc).weighted == pytest.approx(20 / 6)  # as in test_scoring
    steps = [event.action for event in timeline(poc)]
    assert steps == [
        "poc.propose", "poc.approve", "poc.start", "poc.review",
        "poc.evaluate", "poc.evaluate", "poc.evidence", "poc.decide",
    ]  # fmt: skip
    assert [f.kind for f in poc.follow_ups.all()] == ["training", "roadmap"]


def test_a_later_decision_moves_the_entry_and_keeps_the_history(org, ana, proposed, tools):
    lee = org.users["lee"]
    poc = run_to_review(org, proposed)
    decisions.poc_decide(actor=lee, poc=poc, outcome="assess", rationale="Promising.")
    second = services.poc_propose(
        actor=org.users["mo"], team=org.checkout, title="Dagster at scale", tool="Dagster",
        quadrant=tools, problem="All nightly jobs.", starts_on=date(2026, 12, 1),
        ends_on=date(2027, 1, 15), evaluators=[ana],
    )  # fmt: skip
    run_to_review(org, second)
    decisions.poc_decide(actor=lee, poc=second, outcome="reject", rationale="Too costly to run.")

    entry = RadarEntry.objects.get()
    assert entry.ring == "hold"
    assert [(m.from_ring, m.to_ring, m.poc.title) for m in entry.moves.all()] == [
        ("", "assess", "Dagster for the nightly jobs"),
        ("assess", "hold", "Dagster at scale"),
    ]


@pytest.mark.parametrize(
    "scores, field",
    [
        ({"fit": (6, ""), "cost": (3, ""), "ops": (3, "")}, "fit"),
        ({"fit": (0, ""), "cost": (3, ""), "ops": (3, "")}, "fit"),
        ({"fit": (3, ""), "cost": (3, "")}, "ops"),
        ({"fit": (3, ""), "cost": (3, ""), "ops": (3, ""), "vibes": (5, "")}, "vibes"),
    ],
)
def test_bad_scores_are_refused_with_nothing_saved(org, proposed, scores, field):
    poc = run_to_review(org, proposed)

    with pytest.raises(ApplicationError) as refused:
        services.evaluation_submit(actor=org.users["mo"], poc=poc, scores=scores)

    assert field in refused.value.extra
    assert not poc.evaluations.exists()


def test_an_evaluator_scores_once_and_only_evaluators_score(org, ana, proposed):
    poc = run_to_review(org, proposed)
    _score(ana, poc, 3, 3, 3)

    with pytest.raises(ConflictError, match="scored this POC already"):
        _score(ana, poc, 4, 4, 4)
    with pytest.raises(PermissionDenied):
        _score(org.users["lee"], poc, 4, 4, 4)
    assert poc.evaluations.count() == 1


def test_transitions_out_of_order_are_refused(org, proposed):
    lee, mo = org.users["lee"], org.users["mo"]

    with pytest.raises(ConflictError, match="cannot be started"):
        services.poc_transition(actor=mo, poc=proposed, action="start")
    with pytest.raises(ConflictError, match="Only a POC in review is decided"):
        decisions.poc_decide(actor=lee, poc=proposed, outcome="adopt", rationale="Yes.")
    with pytest.raises(ApplicationError, match="Say why"):
        services.poc_transition(actor=mo, poc=proposed, action="withdraw")
    services.poc_transition(actor=mo, poc=proposed, action="withdraw", comment="No budget.")
    with pytest.raises(ConflictError):
        services.poc_transition(actor=lee, poc=proposed, action="approve")
    with pytest.raises(PermissionDenied):  # kim works in Mobile
        services.poc_transition(
            actor=org.users["kim"], poc=proposed, action="withdraw", comment="x"
        )


@pytest.mark.parametrize(
    "criteria, problem",
    [
        ([("fit", "Fit", 0)], "positive"),
        ([("fit", "Fit", -2)], "positive"),
        ([("fit", "Fit", 1), ("fit", "Again", 1)], "repeat"),
        ([], "at least one"),
    ],
)
def test_criteria_need_positive_weights_and_are_fixed_once_scored(
    org, ana, proposed, criteria, problem
):
    with pytest.raises(ApplicationError) as refused:
        services.criteria_set(actor=org.users["mo"], poc=proposed, criteria=criteria)
    assert problem in str(refused.value.message) + str(refused.value.extra)
    assert proposed.criteria.count() == 3

    poc = run_to_review(org, proposed)
    _score(ana, poc, 3, 3, 3)
    with pytest.raises(ConflictError, match="scored already"):
        services.criteria_set(actor=org.users["mo"], poc=poc, criteria=[("fit", "Fit", 1)])


def test_a_training_follow_up_joins_the_teams_plan_for_the_quarter(org, proposed):
    from maturity.models import quarter_of
    from training import services as training

    plan = training.plan_create(
        actor=org.users["lee"], team=org.checkout, period=quarter_of(date.today()), budget=1000
    )
    poc = run_to_review(org, proposed)
    decisions.poc_decide(
        actor=org.users["lee"], poc=poc, outcome="adopt", rationale="Proven.",
        follow_ups=[("training", "Dagster for everyone")],
    )  # fmt: skip

    (item,) = TrainingItem.objects.filter(plan=plan)
    assert (item.title, item.reason) == (
        "Dagster for everyone",
        "POC decision: Dagster for the nightly jobs",
    )
    assert poc.follow_ups.get().training_item == item
    assert TrainingPlan.objects.count() == 1


def test_overdue_time_boxes_are_flagged(org, proposed):
    services.poc_transition(actor=org.users["lee"], poc=proposed, action="approve")
    proposed.refresh_from_db()
    proposed.ends_on = date.today() - timedelta(days=1)
    assert proposed.is_overdue
    proposed.ends_on = date.today()
    assert not proposed.is_overdue


@pytest.mark.django_db(transaction=True)
def test_two_racing_decisions_cannot_both_win(org, ana, proposed):
    poc = run_to_review(org, proposed)
    results = []

    def decide(outcome):
        try:
            decisions.poc_decide(
                actor=org.users["lee"], poc=poc, outcome=outcome, rationale="Race."
            )
            results.append(outcome)
        except ConflictError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(o,)) for o in ("adopt", "hold")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results).count("refused") == 1
    assert Decision.objects.count() == 1
    assert RingMove.objects.count() == 1
