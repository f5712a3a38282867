"""Domain errors raised by services and mapped to HTTP answers by the API and views."""

from __future__ import annotations


class ApplicationError(Exception):
    """A request the domain refuses: 400 with ``message`` (and field errors in ``extra``)."""

    status_code = 400

    def __init__(self, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def in_words(self) -> str:
        """The message and every field's problems, for a page's flash message."""
        return " ".join([self.message, *(p for problems in self.extra.values() for p in problems)])


class ConflictError(ApplicationError):
    """The request is valid but clashes with the current state (409), e.g. deleting a used team."""

    status_code = 409


def add_to_form(form, error: ApplicationError) -> None:
    """Put a service's refusal on a form: each field's problems beside it, the rest on top."""
    for field, problems in (error.extra or {"__all__": [error.message]}).items():
        form.add_error(field if field in form.fields else None, problems)
