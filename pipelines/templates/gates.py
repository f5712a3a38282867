"""The gate a stage must pass, as a small expression: ``<name> <op> <number>[%]`` joined by ``and``.

Examples: ``coverage >= 80%``, ``critical_vulnerabilities == 0``,
``p95_latency_delta <= 10% and error_rate < 1%``. Names are measures (lowercase letters, digits
and underscores, starting with a letter); operators are ``>= <= == != > <``; numbers may be
negative or decimal and may end in ``%``. A blank gate means the stage only has to pass.

Pure: no Django. A text that does not parse raises ``GateError`` with the 1-based column of the
problem, so a form or the API can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

OPERATORS = (">=", "<=", "==", "!=", ">", "<")  # two-character ones first: ">=" is not ">"
EXAMPLE_MEASURES = ("coverage", "critical_vulnerabilities", "p95_latency_delta")

_NAME = re.compile(r"[a-z][a-z0-9_]*", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_AND = re.compile(r"and(?![A-Za-z0-9_])", re.IGNORECASE)
_KEYWORDS = frozenset({"and", "or", "not"})


class GateError(ValueError):
    """A gate that does not parse: ``message`` says what was expected at ``column`` (from 1)."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} at column {column}")


@dataclass(frozen=True)
class Condition:
    """One comparison of a measure with a number (``percent``: the number was written with %)."""

    name: str
    op: str
    value: Decimal
    percent: bool = False

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value}{'%' if self.percent else ''}"


def parse_gate(text: str) -> list[Condition]:
    """The conditions of ``text``, all of which must hold; ``[]`` for a blank gate."""
    parser = _Parser(text)
    if not text.strip():
        return []
    conditions = [parser.condition()]
    while True:
        parser.skip_spaces()
        if parser.at_end():
            return conditions
        if not parser.take(_AND):
            raise parser.error("expected “and” or the end of the gate")
        if not parser.skip_spaces() and not parser.at_end():
            raise parser.error("expected a space after “and”")
        conditions.append(parser.condition())


def gate_text(conditions: list[Condition]) -> str:
    """The canonical spelling: one space around operators, lowercase names and ``and``."""
    return " and ".join(str(condition) for condition in conditions)


def normalise_gate(text: str) -> str:
    """``text`` in its canonical spelling (raises GateError like ``parse_gate``)."""
    return gate_text(parse_gate(text))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_spaces(self) -> bool:
        start = self.pos
        while not self.at_end() and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos > start

    def take(self, pattern: re.Pattern) -> str | None:
        match = pattern.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def error(self, expected: str) -> GateError:
        rest = self.text[self.pos :].split()
        found = f"“{rest[0][:20]}”" if rest else "the end"
        return GateError(f"{expected}, found {found}", self.pos + 1)

    def condition(self) -> Condition:
        self.skip_spaces()
        start = self.pos
        name = self.take(_NAME)
        if name is None or name.lower() in _KEYWORDS:
            self.pos = start
            raise self.error("expected a measure name such as coverage")
        self.skip_spaces()
        op = next((op for op in OPERATORS if self.text.startswith(op, self.pos)), None)
        if op is None:
            raise self.error(f"expected a comparison ({' '.join(OPERATORS)})")
        self.pos += len(op)
        self.skip_spaces()
        number = self.take(_NUMBER)
        if number is None:
            raise self.error("expected a number")
        percent = self.text.startswith("%", self.pos)
        if percent:
            self.pos += 1
        if not self.at_end() and not self.text[self.pos].isspace():
            raise self.error("expected a space after the number")
        return Condition(name.lower(), op, Decimal(number), percent)
