"""Every create/edit form of the project rejects bad input with errors shown, saves nothing,
and never answers 5xx (issue 10, "Bad input").

The forms are found, not listed: every django Form class defined in a ``forms`` module of a
project app. Each must have its page in forms_walk_pages.PAGES (a new form without one fails
``test_every_form_has_a_page``). Bad input is derived from each form's own fields: required
ones left empty, values of the wrong type, text one character past ``max_length``, numbers
past their bounds, choices that do not exist, and reversed date ranges. The pages run on the
demo organisation, loaded once for the module and rolled back at the end.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client

from tests.portal.forms_walk_pages import PAGES, Page

ERROR_MARKUP = ('class="errorlist"', 'class="form-errors"')
FLASH_ERROR = '<li class="error">'  # the messages list of templates/base.html
DATE_PAIRS = [("starts_on", "ends_on"), ("starts_on", "due_on"), ("period_start", "period_end")]


def project_forms() -> list[type]:
    """Form classes defined in the ``forms`` modules of the project's apps."""
    found = []
    for app in settings.PROJECT_APPS:
        package = importlib.import_module(app)
        names = [app] + [m.name for m in pkgutil.walk_packages(package.__path__, f"{app}.")]
        for name in names:
            if name.rsplit(".", 1)[-1] != "forms":
                continue
            module = importlib.import_module(name)
            found += [
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, forms.BaseForm)
                and value.__module__ == module.__name__
            ]
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__name__}")


FORMS = project_forms()
tally = Counter()  # what the walk did, printed once the module is done


def label(form_class: type) -> str:
    return f"{form_class.__module__.removesuffix('.forms')}.{form_class.__name__}"


def test_every_form_has_a_page():
    assert len(FORMS) > 50
    assert [label(f) for f in FORMS if f not in PAGES] == []
    assert [label(f) for f in PAGES if f not in FORMS] == []


# --- bad input, from each form's fields -----------------------------------------------------


def _wrong_type(field: forms.Field):
    """A value of the wrong kind for ``field``, or None when any text is acceptable."""
    if isinstance(field, forms.ModelMultipleChoiceField):
        return ["no-such-object"]
    if isinstance(field, forms.MultipleChoiceField):
        return ["no-such-choice"]
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        return "no-such-choice"
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return "twelve"
    if isinstance(field, forms.DateField | forms.DateTimeField):
        return "2026-13-45"
    if isinstance(field, forms.URLField):
        return "not a link"
    if isinstance(field, forms.EmailField):
        return "not-an-address"
    if isinstance(field, forms.SlugField):
        return "not a slug!"
    if isinstance(field, forms.JSONField):
        return "{not json"
    if type(field) is not forms.CharField and isinstance(field, forms.CharField):
        return "{[<not: valid"  # a parsing field (rule parameters, stages)
    return None


def _out_of_range(field: forms.Field):
    """A value just past the field's bounds, or None."""
    if isinstance(field, forms.CharField) and field.max_length:
        return "x" * (field.max_length + 1)
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        if field.min_value is not None:
            return str(field.min_value - 1)
        if field.max_value is not None:
            return str(field.max_value + 1)
        if getattr(field, "max_digits", None):
            return str(Decimal(10) ** field.max_digits)
    return None


def bad_submissions(form_class: type, fields: dict) -> list[tuple[str, dict]]:
    """(what is wrong, data) for the form's fields (``fields``: name -> field)."""
    submissions = []
    if any(field.required for field in fields.values()):
        # As a browser sends it: every field, empty (an empty POST leaves a form unbound).
        submissions.append(("required fields empty", dict.fromkeys(fields, "")))
    wrong = {n: v for n, f in fields.items() if (v := _wrong_type(f)) is not None}
    if wrong:
        submissions.append(("wrong types", wrong))
    past = {n: v for n, f in fields.items() if (v := _out_of_range(f)) is not None}
    for start, end in DATE_PAIRS:
        if start in fields and end in fields:
            past |= {start: "2027-06-30", end: "2027-01-01"}
    if past:
        submissions.append(("too long, out of range, dates reversed", past))
    assert submissions, f"{label(form_class)}: no bad input derived from its fields"
    return submissions


# --- the walk -----------------------------------------------------------------------------


def _table_counts_sql() -> str:
    tables = sorted(
        model._meta.db_table
        for app in [*settings.PROJECT_APPS, "auth"]
        for model in apps.get_app_config(app).get_models()
        if model._meta.managed and not model._meta.proxy
    )
    # Table names from the models, quoted: one round trip instead of one query per model.
    quoted = [connection.ops.quote_name(table) for table in tables]
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in quoted)  # noqa: S608


def row_counts() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(_table_counts_sql())
        return cursor.fetchone()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo organisation, loaded once for the module and rolled back at its end; then
    the module's figures for docs/reliability.md."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)
    print(
        f"\n{tally['forms']} forms walked, {tally['submissions']} bad submissions, "
        f"{tally['saved']} saved, {tally['5xx']} 5xx ({tally['flash']} refused by a "
        f"redirect to an error message)"
    )


def _resolve(value):
    return value() if callable(value) else value


def post_bad(client: Client, page: Page, prefix: str, data: dict):
    url = page.url()
    switch = {k: _resolve(v) for k, v in page.data.items()}
    named = {f"{prefix}-{k}" if prefix else k: v for k, v in data.items()}
    if page.method == "get":
        return client.get(url, named)
    return client.post(url, {**switch, **named})


@pytest.mark.parametrize("form_class", FORMS, ids=label)
def test_bad_input_is_refused_with_errors_and_nothing_saved(demo, db, form_class):
    page = PAGES[form_class]
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=_resolve(page.user)))
    shown_on = page.page or page.url
    assert client.get(shown_on()).status_code == 200  # the page renders (and warms its caches)

    fields = page.fields() if page.fields else dict(form_class.base_fields)
    problems = []
    for what, data in bad_submissions(form_class, fields):
        before = row_counts()
        response = post_bad(client, page, page.prefix, data)
        tally["submissions"] += 1
        shown = response.content.decode(errors="replace")
        if response.status_code in (302, 303):
            shown = client.get(response["Location"]).content.decode(errors="replace")
            tally["flash"] += FLASH_ERROR in shown
            ok = FLASH_ERROR in shown
        else:
            tally["5xx"] += response.status_code >= 500
            marked = any(m in shown for m in (*ERROR_MARKUP, FLASH_ERROR))
            ok = response.status_code in (200, 400) and marked
        saved = row_counts() != before
        tally["saved"] += saved
        if not ok or saved:
            problems.append(f"{what}: {response.status_code}, errors shown {ok}, saved {saved}")
    tally["forms"] += 1
    assert problems == [], f"{label(form_class)} at {page.url()}"
