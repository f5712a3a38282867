"""Forms of the status pages: a period to save a report for, and one's digest settings."""

from __future__ import annotations

from django import forms

from reporting.models import DigestSubscription


def _day_input() -> forms.DateInput:
    # A date input reads and writes ISO dates, whatever the site's display format.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    period_start = forms.DateField(label="From", widget=_day_input())
    period_end = forms.DateField(label="To", widget=_day_input())


class DigestForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=DigestSubscription.Frequency.choices,
        help_text="Each digest covers the last full period, with the report as a PDF.",
    )
    weekday = forms.TypedChoiceField(
        choices=DigestSubscription.Weekday.choices,
        coerce=int,
        label="Day of the weekly digest",
        help_text="Sent on the first hourly run of that day (UTC).",
    )
