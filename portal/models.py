"""The shared core: who works where (teams, memberships, roles), what they run, the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from rest_framework.authtoken.models import Token, TokenProxy

PRODUCTION_ENVIRONMENT_NAMES = frozenset({"production", "prod"})


class Role(models.TextChoices):
    """Roles from DESIGN.md. A membership's role applies to its team, or everywhere if team-less."""

    ADMIN = "admin", "Admin"
    LEAD = "lead", "Lead"
    STAKEHOLDER = "stakeholder", "Stakeholder"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Team(models.Model):
    """A delivery team; it owns services and is the unit of access for members and viewers."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one team, or across the organisation when ``team`` is empty.

    The demo's stakeholder is in no team: an organisation-wide membership says what they may do.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            # nulls_distinct=False: one organisation-wide membership per user, too.
            models.UniqueConstraint(
                fields=["user", "team"], name="membership_user_team_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_role_display()} of {self.team or 'the organisation'}"


class Service(models.Model):
    """A deployable thing, owned by one team. CI sources map repositories onto services."""

    class Tier(models.IntegerChoices):
        CRITICAL = 1, "Tier 1 (critical)"
        IMPORTANT = 2, "Tier 2"
        SUPPORTING = 3, "Tier 3"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.IMPORTANT)
    repository_url = models.URLField(blank=True)
    default_branch = models.CharField(max_length=200, default="main")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Environment(models.Model):
    """A stage on the promotion path (dev -> staging -> production), ordered by ``position``."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0, help_text="Order on the promotion path.")
    is_production = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def is_production_name(name: str) -> bool:
        """`production` and `prod` (any case) are production unless said otherwise."""
        return name.strip().lower() in PRODUCTION_ENVIRONMENT_NAMES


class TokenScope(models.Model):
    """What an API token may do. A token without a scope row acts fully as its user."""

    token = models.OneToOneField(Token, on_delete=models.CASCADE, related_name="scope")
    read_only = models.BooleanField(default=False)

    def __str__(self) -> str:
        return "read-only" if self.read_only else "read-write"


class ApiToken(TokenProxy):
    """DRF's token as the admin shows it: addressed by its user, named without its key
    (``Token.__str__`` is the key itself, which would print it in titles and breadcrumbs)."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token of {self.user}"


class AuditEventQuerySet(models.QuerySet):
    """The audit log is append-only: bulk rewrites and deletes are refused."""

    def update(self, **kwargs):
        raise TypeError("AuditEvent rows are append-only")

    def delete(self):
        raise TypeError("AuditEvent rows are append-only")


class AuditEvent(models.Model):
    """One change: who did what to which object, with the fields before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=100, help_text="<entity>.<verb>, e.g. service.update")
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The object page's history list: its events, newest first.
            models.Index(fields=["object_type", "object_id", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("AuditEvent rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("AuditEvent rows are append-only")
