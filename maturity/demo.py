"""Demo part of maturity: the default model (from the DORA capabilities), so assessments can
start at once."""

from __future__ import annotations

from maturity.catalogue import parse_model
from maturity.management.commands.maturity_import import DEFAULT
from maturity.models import MaturityModel
from maturity.services import model_import


def load() -> None:
    spec = parse_model(DEFAULT.read_text(encoding="utf-8"))
    if not MaturityModel.objects.filter(slug=spec.slug).exists():
        model_import(actor=None, spec=spec)
