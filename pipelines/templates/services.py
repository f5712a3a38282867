"""Writes for pipeline templates: templates and their immutable versions, service assignments.

Leads (and admins) do all of these. A version's stages are checked as a whole
(``stages.stage_problems``) before anything is written, so a refused save leaves nothing behind.
Each function is one transaction and leaves one audit event.

``stages`` arguments are sequences of mappings with the keys ``name``, ``kind`` and optionally
``gate``, ``environment`` (an Environment, its slug, or None) and ``match``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from pipelines.models import PipelineTemplate, ServiceTemplate, TemplateStage, TemplateVersion
from pipelines.templates.gates import normalise_gate
from pipelines.templates.stages import (
    NEEDS_ENVIRONMENT,
    Env,
    Problem,
    StageSpec,
    describe,
    stage_problems,
)
from portal.access import require_lead
from portal.audit import audit_record, audit_snapshot
from portal.exceptions import ApplicationError
from portal.models import Environment, Service, Team

STAGE_KEYS = frozenset({"name", "kind", "gate", "environment", "match"})
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
NAME_MAX = 200
SLUG_MAX = 100


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def stage_specs(
    stages: Sequence[Mapping[str, Any]],
) -> tuple[list[StageSpec], list[Environment | None], list[Problem]]:
    """The stages as specs for the rules, each one's Environment, and the problems found while
    reading them (unknown keys or environments). One query for the environments."""
    problems: list[Problem] = []
    slugs = {
        s["environment"]
        for s in stages
        if isinstance(s.get("environment"), str) and s.get("environment")
    }
    by_slug = Environment.objects.in_bulk(slugs, field_name="slug") if slugs else {}
    specs, environments = [], []
    for index, raw in enumerate(stages):
        unknown = set(raw) - STAGE_KEYS
        if unknown:
            problems.append(Problem(index, f"unknown field(s) {', '.join(sorted(unknown))}."))
        env = raw.get("environment") or None
        if isinstance(env, str):
            if env not in by_slug:
                problems.append(Problem(index, f"unknown environment “{env}”."))
            env = by_slug.get(env)
        elif env is not None and not isinstance(env, Environment):
            problems.append(Problem(index, "the environment is a slug."))
            env = None
        specs.append(
            StageSpec(
                name=_text(raw.get("name")),
                kind=_text(raw.get("kind")),
                gate=_text(raw.get("gate")),
                match="|".join(p.strip() for p in _text(raw.get("match")).split("|") if p.strip()),
                environment=None
                if env is None
                else Env(env.slug, env.name, env.position, env.is_production),
            )
        )
        environments.append(env)
    return specs, environments, problems


def _checked_stages(stages) -> tuple[list[StageSpec], list[Environment | None], list[str]]:
    """The specs and environments, and every problem in words (empty when valid)."""
    specs, environments, problems = stage_specs(stages)
    unreadable = {p.index for p in problems}
    # An unknown environment already says what is wrong with the stage's environment.
    problems += [
        p
        for p in stage_problems(specs)
        if not (p.index in unreadable and p.message == NEEDS_ENVIRONMENT)
    ]
    problems.sort(key=lambda p: -1 if p.index is None else p.index)
    return specs, environments, [describe(p, specs) for p in problems]


def _write_version(
    *, template: PipelineTemplate, number: int, note: str, actor, specs, environments
) -> TemplateVersion:
    version = TemplateVersion.objects.create(
        template=template,
        number=number,
        note=note,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    TemplateStage.objects.bulk_create(
        TemplateStage(
            version=version,
            position=position,
            name=spec.name,
            kind=spec.kind,
            gate=normalise_gate(spec.gate),
            environment=environment,
            match=spec.match,
        )
        for position, (spec, environment) in enumerate(zip(specs, environments, strict=True), 1)
    )
    return version


def _details_problems(*, name: str, slug: str | None, template_pk: int | None) -> dict:
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = ["Name the template."]
    elif len(name) > NAME_MAX or not name.isprintable():
        problems["name"] = [f"One line of at most {NAME_MAX} characters."]
    if slug is not None:
        if not SLUG_RE.match(slug) or len(slug) > SLUG_MAX:
            problems["slug"] = [f"Letters, digits, - and _ only; at most {SLUG_MAX} characters."]
        elif PipelineTemplate.objects.filter(slug=slug).exclude(pk=template_pk).exists():
            problems["slug"] = ["Another template has this slug."]
    return problems


def _free_slug(name: str) -> str:
    base = slugify(name)[:SLUG_MAX] or "template"
    slug, n = base, 2
    while PipelineTemplate.objects.filter(slug=slug).exists():
        suffix = f"-{n}"
        slug, n = f"{base[: SLUG_MAX - len(suffix)]}{suffix}", n + 1
    return slug


@transaction.atomic
def template_create(
    *,
    actor,
    name: str,
    stages: Sequence[Mapping[str, Any]],
    description: str = "",
    owner_team: Team | None = None,
    note: str = "",
    slug: str = "",
) -> PipelineTemplate:
    """A template with its first version (``stages`` in order). ``slug`` defaults to one made
    from the name. Refused as a whole, with field errors, when anything is wrong."""
    require_lead(actor)
    name = _text(name)
    problems = _details_problems(name=name, slug=_text(slug) or None, template_pk=None)
    specs, environments, stage_errors = _checked_stages(stages)
    if stage_errors:
        problems["stages"] = stage_errors
    if problems:
        raise ApplicationError("The template was not saved.", problems)
    try:
        with transaction.atomic():  # a savepoint: a lost race for the slug is a field error
            template = PipelineTemplate.objects.create(
                slug=_text(slug) or _free_slug(name),
                name=name,
                description=_text(description),
                owner_team=owner_team,
            )
    except IntegrityError as error:
        raise ApplicationError(
            "The template was not saved.", {"slug": ["Another template has this slug."]}
        ) from error
    _write_version(
        template=template,
        number=1,
        note=_text(note) or "First version.",
        actor=actor,
        specs=specs,
        environments=environments,
    )
    audit_record(
        actor=actor,
        action="pipeline_template.create",
        instance=template,
        after=audit_snapshot(template) | {"stages": [s.name for s in specs]},
    )
    return template


@transaction.atomic
def template_new_version(
    *, actor, template: PipelineTemplate, stages: Sequence[Mapping[str, Any]], note: str
) -> TemplateVersion:
    """The template's next version: the given ``stages`` (all of them, in order) and a ``note``
    saying what changed. Earlier versions stay as they were."""
    require_lead(actor)
    # Locked: two leads saving at once would otherwise both take the same next number.
    template = PipelineTemplate.objects.select_for_update().get(pk=template.pk)
    problems: dict[str, list[str]] = {}
    if not _text(note):
        problems["note"] = ["Say what changed in this version."]
    specs, environments, stage_errors = _checked_stages(stages)
    if stage_errors:
        problems["stages"] = stage_errors
    latest = template.versions.order_by("-number").first()
    if not problems and latest is not None and _same(latest, specs, environments):
        problems["stages"] = [f"Nothing changed from version {latest.number}."]
    if problems:
        raise ApplicationError("The new version was not saved.", problems)
    version = _write_version(
        template=template,
        number=(latest.number if latest else 0) + 1,
        note=_text(note),
        actor=actor,
        specs=specs,
        environments=environments,
    )
    audit_record(
        actor=actor,
        action="pipeline_template.version",
        instance=version,
        after={"number": version.number, "note": version.note, "stages": [s.name for s in specs]},
    )
    return version


def _same(version: TemplateVersion, specs, environments) -> bool:
    def row(name, kind, gate, env_id, match):
        return (name, kind, gate, env_id, match)

    old = [
        row(s.name, s.kind, s.gate, s.environment_id, s.match)
        for s in version.stages.order_by("position")
    ]
    new = [
        row(s.name, s.kind, normalise_gate(s.gate), e.pk if e else None, s.match)
        for s, e in zip(specs, environments, strict=True)
    ]
    return old == new


_UNSET: Any = object()


@transaction.atomic
def template_update(
    *,
    actor,
    template: PipelineTemplate,
    name: str | None = None,
    description: str | None = None,
    owner_team: Team | None = _UNSET,
) -> PipelineTemplate:
    """The template's name, description and owning team (its stages change by new versions)."""
    require_lead(actor)
    template = PipelineTemplate.objects.select_for_update().get(pk=template.pk)
    before = audit_snapshot(template)
    if name is not None:
        problems = _details_problems(name=_text(name), slug=None, template_pk=template.pk)
        if problems:
            raise ApplicationError("The template was not saved.", problems)
        template.name = _text(name)
    if description is not None:
        template.description = _text(description)
    if owner_team is not _UNSET:
        template.owner_team = owner_team
    template.save()
    audit_record(
        actor=actor,
        action="pipeline_template.update",
        instance=template,
        before=before,
        after=audit_snapshot(template),
    )
    return template


@transaction.atomic
def service_assign(*, actor, service: Service, template: PipelineTemplate) -> ServiceTemplate:
    """Assign ``template`` to ``service`` (replacing its previous one): from now on the service
    is checked against the template's latest version."""
    require_lead(actor)
    before = ServiceTemplate.objects.select_for_update().filter(service=service).first()
    assignment, _ = ServiceTemplate.objects.update_or_create(
        service=service,
        defaults={
            "template": template,
            "assigned_by": actor if actor is not None and actor.is_authenticated else None,
        },
    )
    audit_record(
        actor=actor,
        action="pipeline_template.assign",
        instance=assignment,
        before={"template": before.template.slug} if before else None,
        after={"service": service.slug, "template": template.slug},
    )
    return assignment


@transaction.atomic
def service_unassign(*, actor, service: Service) -> None:
    """The service follows no template any more."""
    require_lead(actor)
    assignment = ServiceTemplate.objects.select_for_update().filter(service=service).first()
    if assignment is None:
        raise ApplicationError(
            f"{service} has no template.", {"service": ["No template is assigned."]}
        )
    audit_record(
        actor=actor,
        action="pipeline_template.unassign",
        instance=assignment,
        before={"service": service.slug, "template": assignment.template.slug},
    )
    assignment.delete()
