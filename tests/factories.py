"""factory-boy factories for the shared core."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from portal.models import Environment, Membership, Service, Team

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment

    name = factory.Sequence(lambda n: f"env-{n}")
    slug = factory.LazyAttribute(lambda env: env.name)
    position = factory.Sequence(lambda n: n * 10)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    role = "member"


def deploy_daily(service: Service, days: int, *, before: timedelta = timedelta(minutes=1)):
    """A successful production deployment of ``service`` each day for the last ``days`` days
    (each ``before`` earlier than now on its day), through the production environment."""
    from pipelines.models import Deployment
    from pipelines.services import push_source

    production, _ = Environment.objects.get_or_create(
        slug="production", defaults={"name": "production", "is_production": True}
    )
    now = timezone.now()
    Deployment.objects.bulk_create(
        Deployment(
            source=push_source(),
            service=service,
            environment=production,
            external_id=f"D{day}",
            status="success",
            finished_at=now - timedelta(days=day) - before,
        )
        for day in range(days)
    )
