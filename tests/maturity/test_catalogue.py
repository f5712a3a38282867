"""Maturity models as YAML: the shipped default, a round trip, and files refused with reasons."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from maturity.catalogue import CatalogueError, dump_model, parse_model
from maturity.management.commands.maturity_import import DEFAULT
from maturity.models import Capability, MaturityModel
from tests.maturity.test_workflow import SMALL_MODEL


def test_the_default_model_covers_the_dora_capabilities():
    spec = parse_model(DEFAULT.read_text(encoding="utf-8"))

    keys = {c.key for area in spec.areas for c in area.capabilities}
    assert len(keys) == 26
    assert {
        "continuous-integration",
        "trunk-based-development",
        "monitoring-and-observability",
        "pervasive-security",
        "streamlining-change-approval",
        "learning-culture",
    } <= keys
    checks = {c.key: c.check.metric for a in spec.areas for c in a.capabilities if c.check}
    assert checks["deployment-automation"] == "deployment_frequency"
    assert len(checks) == 8


def test_import_then_export_gives_the_same_model(db, capsys):
    call_command("maturity_import")
    model = MaturityModel.objects.get()
    assert (model.slug, model.version, Capability.objects.count()) == ("dora-capabilities", 1, 26)

    assert parse_model(dump_model(model)) == parse_model(DEFAULT.read_text(encoding="utf-8"))
    capsys.readouterr()
    call_command("maturity_export", "dora-capabilities")
    assert parse_model(capsys.readouterr().out) == parse_model(dump_model(model))


def test_importing_a_slug_again_makes_the_next_version(db):
    call_command("maturity_import")
    call_command("maturity_import")

    assert list(MaturityModel.objects.values_list("version", flat=True)) == [2, 1]


@pytest.mark.parametrize(
    "change, problem",
    [
        (
            ('5: "On demand"', ""),
            "areas.0.capabilities.0.levels: give exactly the levels 1, 2, 3, 4 and 5",
        ),
        (("deployment_frequency", "happiness"), "unknown metric 'happiness'"),
        (("[0.033, 0.143, 1, 3]", "[3, 1, 0.143, 0.033]"), "must rise from level 2 to level 5"),
        (("key: learning-culture", "key: deployment-automation"), "capability keys must be unique"),
        (("name: Small model", "name: Small model\nowner: me"), "owner: Extra inputs"),
        (("key: technical", "key: Technical!"), "areas.0.key"),
        (("areas:", "areas: [}"), "not YAML"),
    ],
)
def test_a_bad_file_is_refused_with_where_and_why(change, problem):
    old, new = change
    with pytest.raises(CatalogueError) as refused:
        parse_model(SMALL_MODEL.replace(old, new))
    assert problem in str(refused.value)


def test_the_import_command_explains_a_bad_file(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_MODEL.replace("deployment_frequency", "happiness"))

    with pytest.raises(CommandError, match="unknown metric"):
        call_command("maturity_import", str(bad))
    assert not MaturityModel.objects.exists()
