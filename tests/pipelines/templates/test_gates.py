"""The gate grammar: ``<name> <op> <number>[%]`` joined by ``and``; problems at a column."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.templates.gates import Condition, GateError, normalise_gate, parse_gate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("coverage >= 80%", [Condition("coverage", ">=", Decimal(80), True)]),
        ("critical_vulnerabilities == 0", [Condition("critical_vulnerabilities", "==", 0)]),
        ("p95_latency_delta <= 10%", [Condition("p95_latency_delta", "<=", Decimal(10), True)]),
        ("error_rate<0.5%", [Condition("error_rate", "<", Decimal("0.5"), True)]),
        ("drift != -1.5", [Condition("drift", "!=", Decimal("-1.5"))]),
        ("Coverage > 70 AND high < 3", [
            Condition("coverage", ">", Decimal(70)), Condition("high", "<", Decimal(3)),
        ]),
    ],
)  # fmt: skip
def test_it_parses_good_gates(text, expected):
    assert parse_gate(text) == expected


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        # columns count from 1: "coverage " is 9 characters, so the operator starts at 10
        ("coverage => 80", 10, "expected a comparison"),
        ("coverage = 80", 10, "expected a comparison"),
        ("coverage >= high", 13, "expected a number"),
        ("coverage >= 80 or high < 1", 16, "expected “and”"),
        ("coverage >= 80 and", 19, "expected a measure name"),
        ("coverage >= 80 and and < 1", 20, "expected a measure name"),
        (">= 80", 1, "expected a measure name"),
        ("9lives > 1", 1, "expected a measure name"),
        ("coverage >= 80%%", 16, "expected a space after the number"),
        ("coverage >=", 12, "found the end"),
    ],
)
def test_it_refuses_bad_gates_with_the_column(text, column, words):
    with pytest.raises(GateError) as caught:
        parse_gate(text)

    assert caught.value.column == column
    assert words in caught.value.message
    assert str(caught.value).endswith(f"at column {column}")


def test_it_spells_gates_one_way():
    assert normalise_gate("Coverage>=80%  and  High<3") == "coverage >= 80% and high < 3"
