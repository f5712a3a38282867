"""Serializer fields that take only the JSON type the schema promises.

DRF coerces by default (``0`` is false, ``"5"`` is 5, ``5`` is ``"5"``), so a client's type
mistake is silently stored as something else. Our API answers it with a 400 instead.
"""

from __future__ import annotations

from django.db import models
from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required (not text or true/false)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharMixin:
    default_error_messages = {"invalid": "Text is required."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictCharMixin, serializers.CharField):
    pass


class StrictSlugField(StrictCharMixin, serializers.SlugField):
    pass


class StrictURLField(StrictCharMixin, serializers.URLField):
    pass


class StrictChoiceField(serializers.ChoiceField):
    """A choice whose value must also have the choice's type (``1``, not ``"1"``)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not any(
            type(data) is type(choice) and data == choice for choice in self.choices
        ):
            self.fail("invalid_choice", input=data)
        return data


class StrictModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.PositiveSmallIntegerField: StrictIntegerField,
        models.SmallIntegerField: StrictIntegerField,
        models.BigIntegerField: StrictIntegerField,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.SlugField: StrictSlugField,
        models.URLField: StrictURLField,
    }
    serializer_choice_field = StrictChoiceField
