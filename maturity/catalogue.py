"""Maturity models as YAML: the schema, parsing with field-by-field errors, and export.

The schema is the one ``default_model.yaml`` follows (docs/maturity.md): areas of capabilities,
each with five levels and an optional automatic check (maturity.checks).
"""

from __future__ import annotations

import re
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maturity.checks import thresholds_problem
from maturity.models import MaturityModel

Key = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class CatalogueError(ValueError):
    """A model file that cannot be imported; ``problems`` says where and why."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckSpec(_Spec):
    metric: str
    pattern: str = ""
    thresholds: list[float]

    @model_validator(mode="after")
    def _valid(self) -> CheckSpec:
        if problem := thresholds_problem(self.metric, self.thresholds):
            raise ValueError(problem)
        if self.metric == "stage_share":
            if not self.pattern:
                raise ValueError("stage_share needs a pattern (a job-name regular expression)")
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern is not a regular expression: {error}") from None
        return self


class CapabilitySpec(_Spec):
    key: Key
    name: Text
    description: str = ""
    check: CheckSpec | None = None
    levels: dict[int, Text]

    @field_validator("levels")
    @classmethod
    def _five_levels(cls, levels: dict[int, str]) -> dict[int, str]:
        if sorted(levels) != [1, 2, 3, 4, 5]:
            raise ValueError("give exactly the levels 1, 2, 3, 4 and 5")
        return levels


class AreaSpec(_Spec):
    key: Key
    name: Text
    capabilities: list[CapabilitySpec] = Field(min_length=1)


class ModelSpec(_Spec):
    slug: Key
    name: Text
    version: int = Field(default=1, ge=1)
    description: str = ""
    areas: list[AreaSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> ModelSpec:
        for what, keys in [
            ("area", [a.key for a in self.areas]),
            ("capability", [c.key for a in self.areas for c in a.capabilities]),
        ]:
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise ValueError(f"{what} keys must be unique: {', '.join(repeated)}")
        return self


def parse_model(text: str) -> ModelSpec:
    """The model a YAML text describes; CatalogueError with every problem otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogueError([f"not YAML: {error}"]) from None
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as error:
        raise CatalogueError([_problem(e) for e in error.errors()]) from None


def _problem(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "model"
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def model_spec(model: MaturityModel) -> ModelSpec:
    """A stored model version as its spec (what ``dump_model`` writes)."""
    areas = []
    for area in model.areas.prefetch_related("capabilities__levels"):
        capabilities = []
        for capability in area.capabilities.all():
            check = None
            if capability.check_metric:
                check = CheckSpec(
                    metric=capability.check_metric,
                    pattern=capability.check_pattern,
                    thresholds=capability.check_thresholds,
                )
            capabilities.append(
                CapabilitySpec(
                    key=capability.key,
                    name=capability.name,
                    description=capability.description,
                    check=check,
                    levels={level.number: level.description for level in capability.levels.all()},
                )
            )
        areas.append(AreaSpec(key=area.key, name=area.name, capabilities=capabilities))
    return ModelSpec(
        slug=model.slug,
        name=model.name,
        version=model.version,
        description=model.description,
        areas=areas,
    )


def dump_model(model: MaturityModel) -> str:
    data = model_spec(model).model_dump(exclude_defaults=True)
    data.setdefault("version", model.version)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
