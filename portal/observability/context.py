"""The id of the request (or task) being handled, for every log line written meanwhile.

A ``ContextVar`` rather than a thread-local: gunicorn's gthread workers run requests on threads,
and each thread (and each asyncio task, should one appear) sees its own value.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

# What we accept from a client or a proxy; anything else is replaced, so a header cannot smuggle
# line breaks or megabytes into the logs.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("flightdeck_request_id", default=None)
task_id: ContextVar[str | None] = ContextVar("flightdeck_task_id", default=None)


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it is a token we may log and echo back (<= 64 of A-Z a-z 0-9 . _ -)."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def bind_request_id(value: str) -> Token:
    """Make ``value`` the current request id; pass the token to ``request_id.reset``."""
    return request_id.set(value)


def current_request_id() -> str | None:
    return request_id.get()
