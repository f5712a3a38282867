"""The core services: each write is validated, transactional and leaves an audit event."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal import services
from portal.exceptions import ApplicationError, ConflictError
from portal.models import AuditEvent, Environment, Membership, Role, Service, Team
from tests.factories import ServiceFactory, TeamFactory, UserFactory


@pytest.fixture
def actor(db):
    return UserFactory(username="ada")


def test_it_creates_a_team_with_a_slug_from_its_name_and_audits_it(actor):
    team = services.team_create(actor=actor, name="Release Engineering")

    assert team.slug == "release-engineering"
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.object_id) == (actor, "team.create", str(team.pk))
    assert event.before is None
    assert event.after["name"] == "Release Engineering"


def test_it_records_before_and_after_on_update(actor):
    service = ServiceFactory(name="Cart", tier=2)

    services.service_update(actor=actor, service=service, data={"tier": 1})

    event = AuditEvent.objects.get(action="service.update")
    assert (event.before["tier"], event.after["tier"]) == (2, 1)


def test_an_update_that_changes_nothing_writes_no_event(actor):
    service = ServiceFactory(name="Cart", tier=2)

    services.service_update(actor=actor, service=service, data={"tier": 2})

    assert not AuditEvent.objects.exists()


def test_it_refuses_unknown_fields_and_saves_nothing(actor):
    team = TeamFactory()

    with pytest.raises(ApplicationError) as raised:
        services.service_create(actor=actor, team=team, name="Cart", colour="red")

    assert raised.value.extra == {"colour": ["This field cannot be set."]}
    assert not Service.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_duplicate_slug_is_a_field_error_not_a_crash(actor):
    services.team_create(actor=actor, name="Payments")

    with pytest.raises(ApplicationError) as raised:
        services.team_create(actor=actor, name="payments")

    assert "slug" in raised.value.extra
    assert Team.objects.count() == 1


def test_an_invalid_value_is_refused_before_saving(actor):
    with pytest.raises(ValidationError) as raised:
        services.service_create(actor=actor, team=TeamFactory(), name="Cart", tier=9)

    assert "tier" in raised.value.message_dict
    assert not Service.objects.exists()


def test_a_team_that_owns_services_cannot_be_deleted(actor):
    service = ServiceFactory()

    with pytest.raises(ConflictError):
        services.team_delete(actor=actor, team=service.team)

    assert Team.objects.filter(pk=service.team_id).exists()
    assert not AuditEvent.objects.filter(action="team.delete").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("production", True),
        ("Prod", True),
        ("PRODUCTION", True),
        ("prod-eu", False),
        ("staging", False),
    ],
)
def test_production_and_prod_are_production_by_default(actor, name, expected):
    environment = services.environment_create(actor=actor, name=name)

    assert environment.is_production is expected


def test_an_explicit_production_flag_wins_over_the_name(actor):
    environment = services.environment_create(actor=actor, name="prod-eu", is_production=True)

    assert environment.is_production is True


def test_new_environments_go_to_the_end_of_the_promotion_path(actor):
    services.environment_create(actor=actor, name="dev", position=10)
    services.environment_create(actor=actor, name="staging")

    assert list(Environment.objects.values_list("name", "position")) == [
        ("dev", 10),
        ("staging", 20),
    ]


def test_membership_set_keeps_one_row_per_user_and_team(actor):
    user, team = UserFactory(), TeamFactory()

    services.membership_set(actor=actor, user=user, team=team, role=Role.VIEWER)
    services.membership_set(actor=actor, user=user, team=team, role=Role.MEMBER)
    services.membership_set(actor=actor, user=user, team=None, role=Role.STAKEHOLDER)
    services.membership_set(actor=actor, user=user, team=None, role=Role.STAKEHOLDER)

    assert sorted(Membership.objects.filter(user=user).values_list("role", flat=True)) == [
        "member",
        "stakeholder",
    ]


def test_the_audit_log_cannot_be_rewritten(actor):
    services.team_create(actor=actor, name="Payments")
    event = AuditEvent.objects.get()

    with pytest.raises(TypeError):
        AuditEvent.objects.update(action="forged")
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
