"""The demo organisation's core (shared/DEMO.md): Acme Retail's teams, services, people, stages.

Other apps add their part in ``<app>/demo.py`` with a ``load()`` of their own; the ``load_demo``
command runs them all in INSTALLED_APPS order. Every part is idempotent.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from portal import services
from portal.models import Environment, Role, Service, Team

DEMO_PASSWORD = "flightdeck"  # noqa: S105 (printed by make run: demo only)

# team: (description, [(service slug, display name, tier)])
TEAMS = {
    "Payments": (
        "Card, wallet and ledger flows. Elite delivery: several production deploys a day.",
        [
            ("payments-api", "Payments API", 1),
            ("ledger", "Ledger", 1),
            ("fraud-scoring", "Fraud Scoring", 2),
        ],
    ),
    "Checkout": (
        "The path from basket to order; moved onto the standard pipeline mid-year.",
        [
            ("checkout-web", "Checkout Web", 1),
            ("cart-api", "Cart API", 1),
            ("pricing", "Pricing", 2),
            ("promotions", "Promotions", 3),
        ],
    ),
    "Catalog": (
        "Products, search and reviews. Weekly releases.",
        [
            ("catalog-api", "Catalog API", 2),
            ("search-indexer", "Search Indexer", 3),
            ("media-service", "Media Service", 3),
            ("reviews", "Reviews", 3),
        ],
    ),
    "Mobile": (
        "The iOS and Android apps and their backend-for-frontend. Monthly release train.",
        [
            ("ios-app", "iOS App", 2),
            ("android-app", "Android App", 2),
            ("mobile-bff", "Mobile BFF", 2),
        ],
    ),
    "Platform": (
        "CI runners, observability, identity and the gateway; owns the pipeline templates.",
        [
            ("ci-runners", "CI Runners", 2),
            ("observability", "Observability", 2),
            ("identity", "Identity", 1),
            ("api-gateway", "API Gateway", 1),
        ],
    ),
    "Data": (
        "Event pipeline and the reporting warehouse; running an orchestration POC.",
        [
            ("events-pipeline", "Events Pipeline", 2),
            ("reporting-warehouse", "Reporting Warehouse", 3),
        ],
    ),
}

ENVIRONMENTS = [("dev", False), ("staging", False), ("production", True), ("prod-eu", True)]

# username, full name, organisation-wide role, {team: role}
PEOPLE = [
    ("ada", "Ada Lovelace", Role.ADMIN, {}),
    ("lee", "Lee Chen", Role.LEAD, {"Platform": Role.LEAD}),
    ("sam", "Sam Okafor", Role.STAKEHOLDER, {}),
    ("mo", "Mo Rahman", None, {"Checkout": Role.MEMBER}),
    ("kim", "Kim Park", None, {"Mobile": Role.MEMBER}),
    ("val", "Val Jensen", None, {"Catalog": Role.VIEWER}),
]


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, what they are) for the start-up banner."""
    described = []
    for username, _name, org_role, team_roles in PEOPLE:
        parts = [org_role.label.lower()] if org_role else []
        parts += [f"{role.label.lower()} of {team}" for team, role in team_roles.items()]
        described.append((username, DEMO_PASSWORD, ", ".join(parts)))
    return described


@transaction.atomic
def load() -> None:
    for position, (name, is_production) in enumerate(ENVIRONMENTS, start=1):
        if not Environment.objects.filter(slug=name).exists():
            services.environment_create(
                actor=None, name=name, position=position * 10, is_production=is_production
            )

    teams = {}
    for team_name, (description, team_services) in TEAMS.items():
        team = Team.objects.filter(name=team_name).first() or services.team_create(
            actor=None, name=team_name, description=description
        )
        teams[team_name] = team
        for slug, service_name, tier in team_services:
            if not Service.objects.filter(slug=slug).exists():
                services.service_create(
                    actor=None,
                    team=team,
                    name=service_name,
                    slug=slug,
                    tier=tier,
                    repository_url=f"https://github.com/acme-retail/{slug}",
                )

    user_model = get_user_model()
    for username, full_name, org_role, team_roles in PEOPLE:
        first, last = full_name.split(" ", 1)
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@acme.example"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = org_role == Role.ADMIN
            user.save()
        if org_role:
            services.membership_set(actor=None, user=user, team=None, role=org_role)
        for team_name, role in team_roles.items():
            services.membership_set(actor=None, user=user, team=teams[team_name], role=role)
