"""The roadmap demo tells DEMO.md's story: two approved versions and one awaiting sam's
approval; deliverables in all three colours; Mobile's release train amber on time."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from roadmap.models import Deliverable, Roadmap
from roadmap.selectors import awaiting_decision, changes_of, rag_of


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


def test_the_demo_tells_the_story(demo, django_user_model):
    roadmap = Roadmap.objects.get()
    statuses = list(roadmap.versions.order_by("number").values_list("status", flat=True))
    assert statuses == ["approved", "approved", "submitted"]
    sam = django_user_model.objects.get(username="sam")
    assert [v.number for v in awaiting_decision(sam)] == [3]

    colours = {d.title: rag_of(d) for d in Deliverable.objects.all()}
    for title, status in colours.items():
        print(title, "|", status.rag.colour, "|", status.rag.reasons)
    assert {s.rag.colour for s in colours.values()} == {"red", "amber", "green"}
    train = colours["Fortnightly mobile releases"]
    assert (train.rag.colour, train.rag.time.colour) == ("amber", "amber")
    assert colours["Catalog test suite green for a month"].rag.colour == "red"

    second = roadmap.versions.get(number=2)
    _previous, changes = changes_of(second)
    texts = [str(c) for c in changes]
    print(texts)
    assert any("Mobile release train" in t and "moved from" in t for t in texts)
