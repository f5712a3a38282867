"""Serializer fields that take only the JSON type the schema promises.

DRF coerces by default (``0`` is false, ``"5"`` is 5, ``5`` is ``"5"``), so a client's type
mistake is silently stored as something else. Our API answers it with a 400 instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
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


class KnownFields:
    """Unknown or read-only keys in the body are a 400, not silently dropped; so is a list of
    slugs given as anything but a list (DRF takes any iterable, even ``{}``)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            fields = self.fields
            problems = {
                key: ["Read-only." if key in fields else "Unknown field."]
                for key in data
                if key not in fields or fields[key].read_only
            }
            problems |= {
                key: ["Expected a list."]
                for key, value in data.items()
                if isinstance(fields.get(key), serializers.ManyRelatedField)
                and not isinstance(value, list)
            }
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    default_error_messages = {"invalid": "A number is required (not text or true/false)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class BlankableChoiceField(StrictChoiceField):
    """A strict choice that may also be "" (none)."""

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        return super().to_internal_value(data)


def named_choice_field(name: str, choices) -> type[StrictChoiceField]:
    """A strict choice field whose enum is the OpenAPI component ``name``: many resources have
    a ``status``, ``kind`` or ``value``, and drf-spectacular would otherwise name each set by a
    hash (and warn, which the deploy check turns into a failure)."""
    schema = {"type": "string", "enum": list(choices.values)}
    return extend_schema_field(schema, component_name=name)(
        type(name.removesuffix("Enum") + "Field", (StrictChoiceField,), {})
    )


class URLOrBlankSchema(OpenApiSerializerFieldExtension):
    """Every URL field's schema also admits "": a bare ``format: uri`` refuses the "" that
    fields with ``allow_blank`` take and that stored records without a link return (model URL
    fields are all ``blank=True``; read-only serializer fields lose ``allow_blank``). Found by
    tests/api/test_schema_fuzz.py."""

    target_class = serializers.URLField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and not self.target.allow_blank:
            return schema
        return {"oneOf": [schema, {"type": "string", "maxLength": 0}]}
