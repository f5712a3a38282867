"""Demo part of training (shared/DEMO.md): a skills catalogue linked to the maturity
capabilities, the demo people's ratings, role targets, and plans. Mobile's plan answers its
monitoring gap after the spring incident; Checkout's pipeline workshop is done."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.models import Role, Team
from training import services
from training.models import Skill, SkillRating, TargetProficiency

# slug, name, maturity capability, tool
SKILLS = [
    ("pipeline-design", "Pipeline design", "deployment-automation", "GitHub Actions / GitLab CI"),
    ("trunk-based-git", "Trunk-based development", "trunk-based-development", "Git"),
    ("test-automation", "Test automation", "test-automation", ""),
    ("observability", "Observability", "monitoring-and-observability", "Prometheus"),
    ("incident-response", "Incident response", "proactive-failure-notification", "PagerDuty"),
    ("terraform", "Infrastructure as code", "flexible-infrastructure", "Terraform"),
    ("secure-delivery", "Secure delivery", "pervasive-security", "Trivy"),
]
TARGETS = {Role.MEMBER: 2, Role.LEAD: 3}
# username -> skill slug -> (self-rated, confirmed or None)
RATINGS = {
    "mo": {"pipeline-design": (3, 3), "trunk-based-git": (3, None), "observability": (2, 2)},
    "kim": {"pipeline-design": (1, 1), "observability": (1, 1), "incident-response": (1, None)},
    "lee": {"pipeline-design": (4, None), "observability": (3, None), "terraform": (4, None)},
}


@transaction.atomic
def load() -> None:
    if Skill.objects.exists():
        return
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["lee", "mo", "kim"])
    }
    lee = users.get("lee")
    if lee is None:
        return
    skills = {
        slug: services.skill_create(actor=lee, slug=slug, name=name, capability_key=key, tool=tool)
        for slug, name, key, tool in SKILLS
    }
    TargetProficiency.objects.bulk_create(
        TargetProficiency(skill=skill, role=role, level=level)
        for skill in skills.values()
        for role, level in TARGETS.items()
    )
    SkillRating.objects.bulk_create(
        SkillRating(
            user=users[username],
            skill=skills[slug],
            self_level=own,
            confirmed_level=confirmed,
            confirmed_by=lee if confirmed is not None else None,
        )
        for username, rated in RATINGS.items()
        if username in users
        for slug, (own, confirmed) in rated.items()
    )
    teams = {t.name: t for t in Team.objects.filter(name__in=["Mobile", "Checkout"])}
    if "Mobile" in teams:
        plan = services.plan_create(
            actor=lee, team=teams["Mobile"], period="2026-Q4", budget=Decimal(6000)
        )
        services.item_add(
            actor=lee,
            plan=plan,
            kind="course",
            title="Observability fundamentals: metrics, alerts and SLOs",
            skill=skills["observability"],
            starts_on=date(2026, 11, 2),
            ends_on=date(2026, 12, 11),
            cost=Decimal(2400),
            attendees=[users["kim"]] if "kim" in users else [],
            reason="maturity gap: Monitoring and observability at 1, target 4 (2026-Q4)",
        )
        services.item_add(
            actor=lee,
            plan=plan,
            kind="pairing",
            title="Pair with Platform on the on-call runbook",
            skill=skills["incident-response"],
            cost=Decimal(0),
            attendees=[users["kim"]] if "kim" in users else [],
            reason="aware in Incident response, the member target is practising",
        )
    if "Checkout" in teams:
        plan = services.plan_create(
            actor=lee, team=teams["Checkout"], period="2026-Q3", budget=Decimal(3000)
        )
        workshop = services.item_add(
            actor=lee,
            plan=plan,
            kind="workshop",
            title="Adopting the standard pipeline template",
            skill=skills["pipeline-design"],
            starts_on=date(2026, 7, 14),
            ends_on=date(2026, 7, 14),
            cost=Decimal(1200),
            attendees=[users["mo"]] if "mo" in users else [],
        )
        services.item_update(
            actor=lee,
            item=workshop,
            status="done",
            evidence="https://wiki.acme.example/ci-workshop",
        )
