"""Alert rule pages (leads and admins): the rules, their alerts, and add / edit / delete."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import require_lead
from reporting import services
from reporting.forms import AlertRuleForm
from reporting.models import Alert, AlertRule

RECENT_ALERTS = 50


@login_required
def alert_list(request):
    require_lead(request.user)
    context = {
        "rules": AlertRule.objects.select_related("team", "service"),
        "alerts": Alert.objects.select_related("rule").prefetch_related("notifications")[
            :RECENT_ALERTS
        ],
    }
    return render(request, "reporting/alert_list.html", context)


def _form_page(request, rule: AlertRule | None):
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if rule is None:
                rule = services.alert_rule_create(actor=request.user, **data)
            else:
                rule = services.alert_rule_update(
                    actor=request.user, rule=AlertRule.objects.get(pk=rule.pk), data=data
                )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"Alert rule “{rule.name}” saved.")
            return redirect("alert_list")
    return render(request, "reporting/alert_form.html", {"form": form, "rule": rule})


@login_required
def alert_rule_create(request):
    require_lead(request.user)
    return _form_page(request, None)


@login_required
def alert_rule_edit(request, pk: int):
    require_lead(request.user)
    return _form_page(request, get_object_or_404(AlertRule, pk=pk))


@login_required
@require_POST
def alert_rule_delete(request, pk: int):
    require_lead(request.user)
    rule = get_object_or_404(AlertRule, pk=pk)
    services.alert_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Alert rule “{rule.name}” deleted.")
    return redirect("alert_list")
