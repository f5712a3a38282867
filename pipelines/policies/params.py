"""The params of each rule kind: our own input, validated strictly (pydantic, extra keys and
wrong JSON types refused), stored with the defaults filled in. Pure, like rules."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCAN_PATTERNS = "*scan*|*trivy*|*sast*|*codeql*|*snyk*|*security*"
APPROVAL_PATTERNS = "*approv*|*manual*gate*"


class Params(BaseModel):
    """A rule's params: our own input, so unknown keys and wrong JSON types are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _patterns(value: str) -> str:
    if not split_patterns(value):
        raise ValueError("give at least one pattern, e.g. *scan*|*trivy*")
    return value


class ProdFromDefaultBranchParams(Params):
    also_allowed: list[str] = Field(
        default_factory=list,
        description="Branch patterns also allowed (shell-style, e.g. release/*).",
    )


class SecurityScanParams(Params):
    patterns: str = Field(SCAN_PATTERNS, description="Job name or stage patterns, |-separated.")

    @field_validator("patterns")
    @classmethod
    def _some_patterns(cls, value: str) -> str:
        return _patterns(value)


class ApprovalForTierParams(Params):
    max_tier: int = Field(1, ge=1, le=3, description="Services of this tier or a lower number.")
    patterns: str = Field(APPROVAL_PATTERNS, description="Approval job patterns, |-separated.")

    @field_validator("patterns")
    @classmethod
    def _some_patterns(cls, value: str) -> str:
        return _patterns(value)


class DefaultBranchRedParams(Params):
    hours: float = Field(24, gt=0, le=24 * 366, description="The longest red spell allowed.")


class NoParams(Params):
    pass


def split_patterns(value: str) -> list[str]:
    """``"*scan*|*trivy*"`` -> ``["*scan*", "*trivy*"]`` (blanks dropped)."""
    return [part.strip() for part in value.split("|") if part.strip()]


def matches(text: str, patterns: Sequence[str]) -> bool:
    """Shell-style, case-insensitive: ``*scan*`` matches "Container Scan"."""
    folded = text.casefold()
    return bool(text) and any(fnmatch.fnmatchcase(folded, p.casefold()) for p in patterns)


class ParamsError(ValueError):
    """Params a rule kind does not take: one readable problem per entry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def params_clean(kind: str, params: object) -> dict:
    """The kind's params, validated and with the defaults filled in (stored so, so the rule
    shows what it checks). Raises ParamsError, or KeyError for an unknown kind."""
    model = PARAMS[kind]
    if not isinstance(params, dict):
        raise ParamsError(["params must be a JSON object"])
    try:
        return model.model_validate(params).model_dump()
    except ValidationError as error:
        raise ParamsError(
            [
                f"{'.'.join(str(part) for part in e['loc']) or 'params'}: {e['msg']}"
                for e in error.errors()
            ]
        ) from None


PARAMS: dict[str, type[Params]] = {
    "prod_from_default_branch": ProdFromDefaultBranchParams,
    "security_scan_on_deployed_commit": SecurityScanParams,
    "approval_for_tier": ApprovalForTierParams,
    "default_branch_red_hours": DefaultBranchRedParams,
    "deployment_carries_changes": NoParams,
}
