"""The expected answer of every API endpoint x method x role, in one place.

Derived from the roles table (portal/access.py, README "Who may do what"): each endpoint and
method names three sets of roles and the success code:

- ``gate``: roles that may take this kind of action at all. Others get 403 whatever the object,
  before anything is looked up (the answer does not depend on the object, so it leaks nothing).
- ``sees``: roles that see the object in the URL (else 404), or, for a create, the Checkout
  object its body names (else 400: an unknown slug, exactly as for one that does not exist).
- ``may``: roles allowed to take the action on this object (else 403).
- ``ok``: the answer to an allowed role. A few are 400/409 on purpose (the world's state, e.g.
  a version already submitted, or a body too large to be worth writing): they prove the request
  passed every access check, and ``ok`` states exactly which.

expected(role, rule) = 401 for anonymous; 403 outside ``gate``; 404 (or 400) outside ``sees``;
403 outside ``may``; ``ok`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGNED_IN = frozenset({"admin", "lead", "stakeholder", "member", "viewer", "outsider", "nobody"})
ADMINS = frozenset({"admin"})
LEADS = frozenset({"admin", "lead"})
ORG_READERS = frozenset({"admin", "lead", "stakeholder"})
SEES_CHECKOUT = ORG_READERS | {"member", "viewer"}
WORKS_IN_CHECKOUT = LEADS | {"member"}
WORKS_SOMEWHERE = LEADS | {"member", "outsider"}  # roles that can ever act on a team's objects
IN_A_TEAM = WORKS_SOMEWHERE | {"viewer"}  # roles with a team (services: the rest is per team)
APPROVERS = frozenset({"stakeholder"})  # the roadmap's named approver

# What each resource's object in the world is visible to (lookups in access_world).
SEES = {
    "team": SEES_CHECKOUT,
    "cisource": ADMINS,
    "statusreport": ORG_READERS,
    **dict.fromkeys(
        ["environment", "pipelinetemplate", "policy", "policyrule", "maturitymodel", "skill",
         "radarquadrant", "radarentry", "roadmap", "roadmapversion", "initiative"],
        SIGNED_IN,
    ),
}  # fmt: skip
# Everything else belongs to Checkout.


@dataclass(frozen=True)
class Rule:
    gate: frozenset = SIGNED_IN
    may: frozenset = SIGNED_IN
    ok: int = 200
    body: object = None
    sees: frozenset | None = None  # None: SEES of the resource (Checkout's readers by default)
    unseen: int = 404  # 400 when what is unseen is named in the body


def expected(role: str, rule: Rule, resource: str) -> int:
    if role == "anonymous":
        return 401
    if role not in rule.gate:
        return 403
    if role not in (rule.sees if rule.sees is not None else SEES.get(resource, SEES_CHECKOUT)):
        return rule.unseen
    if role not in rule.may:
        return 403
    return rule.ok


def read(sees: frozenset | None = None) -> Rule:
    return Rule(sees=sees)


def not_allowed(gate=SIGNED_IN) -> Rule:
    """A method the endpoint does not take: 405 once past the role check, whatever the object
    (it is never looked up, so the answer tells nothing about it)."""
    return Rule(gate=gate, sees=SIGNED_IN, ok=405)


def create_in_checkout(body, *, gate=SIGNED_IN, may=WORKS_IN_CHECKOUT, ok=201, unseen=400) -> Rule:
    """A create whose body names a Checkout object: outsiders get 400 (unknown slug)."""
    return Rule(gate=gate, may=may, ok=ok, body=body, sees=SEES_CHECKOUT, unseen=unseen)


def leads(body=None, ok: int = 200) -> Rule:
    return Rule(gate=LEADS, may=LEADS, ok=ok, body=body)


def org_leads(body=None, ok: int = 201) -> Rule:
    """Leads create organisation-wide objects (no team to hide)."""
    return Rule(gate=LEADS, may=LEADS, ok=ok, body=body, sees=SIGNED_IN)


def team_work(body=None, ok: int = 200, gate=WORKS_SOMEWHERE) -> Rule:
    """The Checkout object's team (members, not viewers) and leads act on it."""
    return Rule(gate=gate, may=WORKS_IN_CHECKOUT, ok=ok, body=body)
