"""Policy pages: the organisation's compliance with every policy and its rules (leads add
policies and rules), one policy with its text history, one service's scorecard with evidence
and waivers, and the waiver queue leads decide from. Writes go through
pipelines.policies.services."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from pipelines.models import Policy, Waiver
from pipelines.policies import selectors, services
from pipelines.policies.charts import compliance_trend_html
from pipelines.policies.filtersets import WaiverFilterSet
from pipelines.policies.forms import (
    PolicyForm,
    RuleEditForm,
    RuleForm,
    WaiverDecisionForm,
    WaiverRequestForm,
)
from portal.access import access_for, require_lead, visible_services
from portal.exceptions import ApplicationError, add_to_form
from portal.selectors import service_get

TREND_RANGES = {30: "30 days", 90: "90 days"}


def _days(request) -> int:
    return 90 if request.GET.get("days") == "90" else 30


def _posted(request, name: str):
    """The POST body if this form was the one sent, else None (an unbound form)."""
    return request.POST if request.method == "POST" and request.POST.get("form") == name else None


@login_required
def policy_list(request):
    """The organisation's compliance (the services the user may see), the trend, each team,
    each service, and every policy with its rules' pass rates; leads add policies and rules."""
    access = access_for(request.user)
    forms = {
        "policy": PolicyForm(_posted(request, "policy")),
        "rule": RuleForm(_posted(request, "rule")),
    }
    if request.method == "POST":
        require_lead(request.user)
        which = request.POST.get("form")
        if which == "evaluate":
            outcomes = services.policies_evaluate()
            messages.success(request, f"Evaluated: {sum(outcomes.values())} results.")
            return redirect("policy_list")
        form = forms.get(which)
        if form is not None and form.is_valid():
            try:
                if which == "policy":
                    policy = services.policy_create(actor=request.user, **form.cleaned_data)
                    messages.success(request, f"Policy “{policy.name}” added: now add its rules.")
                    return redirect("policy_detail", slug=policy.slug)
                rule = services.rule_create(actor=request.user, **form.service_arguments())
                messages.success(request, f"Rule {rule.key} added; it is checked from now on.")
                return redirect("policy_detail", slug=rule.policy.slug)
            except ApplicationError as error:
                add_to_form(form, error)
    days = _days(request)
    scope = visible_services(request.user)
    card = selectors.scorecard(services=scope)
    trend = selectors.compliance_trend(services=scope, days=days)
    policies = selectors.policies_overview()
    context = {
        "card": card,
        "failing": sorted(
            (c for c in card.services if c.tally.failed),
            key=lambda c: (c.tally.percent if c.tally.percent is not None else 101, c.service.name),
        ),
        "policies": [
            (policy, [(rule, card.rules.get(rule.pk)) for rule in policy.rules.all()])
            for policy in policies
        ],
        "chart": compliance_trend_html(trend) if any(p.tally.applicable for p in trend) else None,
        "days": days,
        "ranges": TREND_RANGES,
        "requested": selectors.visible_waivers(request.user)
        .filter(status=Waiver.Status.REQUESTED)
        .count(),
        "is_lead": access.is_lead,
        "forms": forms,
        "open_form": request.POST.get("form") if request.method == "POST" else None,
    }
    return render(request, "pipelines/policies/policy_list.html", context)


@login_required
def policy_detail(request, slug: str):
    """A policy's text in force with its versions, and its rules with their pass rates and
    the services failing them; leads edit the text (a new version) and the rules."""
    policy = get_object_or_404(selectors.policies_overview_queryset(), slug=slug)
    access = access_for(request.user)
    rules = list(policy.rules.all())
    latest = next(iter(policy.versions.all()), None)
    text_form = PolicyForm(
        _posted(request, "text"),
        initial={"name": policy.name, "text": latest.text if latest else ""},
    )
    rule_form = RuleForm(_posted(request, "rule"), policy=policy)
    edits = {
        rule.key: RuleEditForm.for_rule(rule, _posted(request, f"rule-{rule.key}"))
        for rule in rules
    }
    if request.method == "POST":
        require_lead(request.user)
        which = request.POST.get("form", "")
        form = {"text": text_form, "rule": rule_form}.get(which) or edits.get(
            which.removeprefix("rule-")
        )
        if form is not None and form.is_valid():
            try:
                _write(request, policy, which, form, rules)
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                return redirect("policy_detail", slug=policy.slug)
    card = selectors.scorecard(services=visible_services(request.user))
    failing_by_rule: dict[int, list] = {}
    for service_card in card.services:
        for line in service_card.lines:
            if line.outcome == "fail":
                failing_by_rule.setdefault(line.rule.pk, []).append(service_card.service)
    context = {
        "policy": policy,
        "latest": latest,
        "rules": [
            (rule, card.rules.get(rule.pk), failing_by_rule.get(rule.pk, []), edits[rule.key])
            for rule in rules
        ],
        "text_form": text_form,
        "rule_form": rule_form,
        "is_lead": access.is_lead,
        "open_form": request.POST.get("form") if request.method == "POST" else None,
    }
    return render(request, "pipelines/policies/policy_detail.html", context)


def _write(request, policy: Policy, which: str, form, rules) -> None:
    data = form.cleaned_data
    if which == "text":
        services.policy_update(actor=request.user, policy=policy, **data)
        messages.success(request, "Policy saved; changed text is a new version.")
    elif which == "rule":
        rule = services.rule_create(actor=request.user, **form.service_arguments())
        messages.success(request, f"Rule {rule.key} added; it is checked from now on.")
    else:
        rule = next(r for r in rules if f"rule-{r.key}" == which)
        services.rule_update(actor=request.user, rule=rule, **data)
        messages.success(request, f"Rule {rule.key} saved.")


def _moment(value):
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _evidence(items: list[dict]) -> list[dict]:
    """Evidence as the page shows it: ISO timestamps read back as datetimes."""
    shown = []
    for item in items:
        deployment = dict(item.get("deployment") or {})
        if deployment:
            deployment["finished"] = _moment(deployment.get("finished_at"))
        shown.append(
            {
                **item,
                "deployment": deployment or None,
                "since": _moment(item.get("from")),
                "until": _moment(item.get("to")),
            }
        )
    return shown


@login_required
def compliance_service(request, slug: str):
    """One service's scorecard: each rule's latest outcome with its evidence, the waivers,
    and (for its team and leads) a form to request a waiver."""
    service = service_get(user=request.user, slug=slug)
    access = access_for(request.user)
    may_request = access.works_in(service.team_id)
    form = WaiverRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_request:
            raise PermissionDenied("Only the service's team and leads request its waivers.")
        if form.is_valid():
            try:
                services.waiver_request(actor=request.user, service=service, **form.cleaned_data)
            except ApplicationError as error:
                add_to_form(form, error)
            else:
                messages.success(request, "Waiver requested: a lead decides on it.")
                return redirect("compliance_service", slug=service.slug)
    card = selectors.service_scorecard(service=service)
    context = {
        "service": service,
        "card": card,
        "lines": [
            (line, _evidence(line.result.evidence if line.result else [])) for line in card.lines
        ],
        "waivers": selectors.visible_waivers(request.user).filter(service=service),
        "form": form,
        "may_request": may_request,
        "is_lead": access.is_lead,
        "runs_url": f"{reverse('run_list')}?service={service.slug}",
        "deployments_url": f"{reverse('deployment_list')}?service={service.slug}&production=true",
    }
    return render(request, "pipelines/policies/compliance_service.html", context)


@login_required
def waiver_list(request):
    """Waivers of the services the user may see; requests first. Leads decide here."""
    queryset = selectors.visible_waivers(request.user).order_by("status", "-requested_at")
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = Waiver.Status.REQUESTED
    filters = WaiverFilterSet(data, queryset=queryset, request=request)
    waivers = filters.qs if filters.is_valid() else queryset.none()
    context = {
        "filters": filters,
        "status": data.get("status", ""),
        "statuses": [("requested", "Awaiting a decision"), ("granted", "Granted"),
                     ("refused", "Refused"), ("", "All")],
        "waivers": waivers,
        "is_lead": access_for(request.user).is_lead,
    }  # fmt: skip
    return render(request, "pipelines/policies/waiver_list.html", context)


@login_required
@require_POST
def waiver_decide(request, pk: int):
    require_lead(request.user)
    waiver = get_object_or_404(selectors.visible_waivers(request.user), pk=pk)
    form = WaiverDecisionForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("waiver_list")
    if not form.is_valid():
        messages.error(request, "Choose Grant or Refuse.")
        return redirect(back)
    grant = form.cleaned_data["decision"] == "grant"
    try:
        services.waiver_decide(
            actor=request.user, waiver=waiver, grant=grant, comment=form.cleaned_data["comment"]
        )
    except ApplicationError as error:
        messages.error(request, error.in_words())
    else:
        verb = "granted" if grant else "refused"
        messages.success(request, f"Waiver of {waiver.rule.key} for {waiver.service} {verb}.")
    return redirect(back)
