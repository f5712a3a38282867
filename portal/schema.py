"""OpenAPI additions: the error answers every operation can give, so clients (and schemathesis)
know a 400 carries field errors and a 404 a ``detail``."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for a general error; otherwise each invalid field with its messages.",
    "properties": {"detail": {"type": "string"}},
    # A field's messages, or for nested input (lists of objects) messages per index and field.
    "additionalProperties": {},
}

ERRORS = {
    "400": "Invalid input: field errors, or an invalid filter value.",
    "401": "No or invalid credentials.",
    "403": "Signed in, but the role or a read-only token does not allow this.",
    "404": "No such object among those you may see (or an invalid page).",
    "405": "Method not allowed.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "409": "The request clashes with the current state (e.g. the team still owns services).",
    "429": "Too many requests: see Retry-After.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
