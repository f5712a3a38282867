"""The skills catalogue: leads add skills and set target proficiency per role, in the browser
and through the API; the matrix outlines people below their role's target."""

from __future__ import annotations

import pytest

from training import services
from training.models import Skill, TargetProficiency

URL = "/training/skills/catalogue/"


@pytest.fixture
def terraform(org):
    return services.skill_create(
        actor=org.users["lee"], slug="terraform", name="Terraform", tool="terraform"
    )


def _targets() -> dict:
    return {(t.skill.slug, t.role): t.level for t in TargetProficiency.objects.select_related()}


def test_a_lead_adds_a_skill_and_sets_role_targets(client_for, terraform):
    lee = client_for("lee")

    added = lee.post(
        URL,
        {"form": "skill", "name": "Observability", "slug": "observability", "tool": "grafana"},
        follow=True,
    )
    saved = lee.post(
        URL,
        {"form": "targets", "terraform-member": "2", "terraform-lead": "3"},
        follow=True,
    )
    cleared = lee.post(URL, {"form": "targets", "terraform-member": "", "terraform-lead": "3"})

    assert "Added Observability." in added.content.decode()
    assert "Targets saved." in saved.content.decode()
    assert cleared.status_code == 302
    assert _targets() == {("terraform", "lead"): 3}


def test_bad_input_gets_field_errors_and_saves_nothing(client_for, terraform):
    lee = client_for("lee")

    taken = lee.post(URL, {"form": "skill", "name": "Again", "slug": "terraform"})
    bad_slug = lee.post(URL, {"form": "skill", "name": "X", "slug": "Not a slug"})
    bad_level = lee.post(URL, {"form": "targets", "terraform-member": "9"})

    assert "A skill has this slug already." in taken.content.decode()
    assert bad_slug.status_code == 200 and "errorlist" in bad_slug.content.decode()
    assert "Select a valid choice." in bad_level.content.decode()
    assert Skill.objects.count() == 1
    assert _targets() == {}


def test_only_leads_edit_the_catalogue(client_for, terraform):
    mo = client_for("mo")

    page = mo.get(URL).content.decode()

    assert "Terraform" in page and "Add a skill" not in page
    assert mo.post(URL, {"form": "targets", "terraform-member": "2"}).status_code == 403
    assert _targets() == {}


def test_the_api_reads_and_writes_role_targets(org, api_client_for, terraform):
    lee = api_client_for(org.users["lee"])

    created = lee.post(
        "/api/v1/skills/",
        {"slug": "k8s", "name": "Kubernetes", "targets": {"member": 1, "lead": 2}},
        format="json",
    )
    moved = lee.put("/api/v1/skills/terraform/targets/", {"member": 3}, format="json")
    unknown = lee.put("/api/v1/skills/terraform/targets/", {"pilot": 3}, format="json")
    too_high = lee.put("/api/v1/skills/terraform/targets/", {"member": 5}, format="json")
    member = api_client_for(org.users["mo"]).put(
        "/api/v1/skills/terraform/targets/", {"member": 0}, format="json"
    )

    assert (created.status_code, created.json()["targets"]) == (201, {"member": 1, "lead": 2})
    assert (moved.status_code, moved.json()["targets"]) == (200, {"member": 3})
    assert (unknown.status_code, unknown.json()) == (400, {"targets": ["Not a role: pilot."]})
    assert (too_high.status_code, "targets" in too_high.json()) == (400, True)
    assert member.status_code == 403
    assert _targets() == {("k8s", "member"): 1, ("k8s", "lead"): 2, ("terraform", "member"): 3}


def test_the_matrix_outlines_people_below_their_target(client_for, org, terraform):
    services.skill_targets_set(actor=org.users["lee"], skill=terraform, levels={"member": 2})
    services.skill_rate_self(actor=org.users["mo"], skill=terraform, level=1)

    page = client_for("lee").get("/training/skills/?team=checkout").content.decode()

    assert 'class="lvl lvl-2 below" title="self 1; target for a member: 2"' in page
