"""Log records carry the request id; the JSON formatter writes one object per line.

``LOG_FORMAT=json`` (the default) is for log shippers: every line parses on its own, and a
message with line breaks or quotes cannot forge a second entry. ``plain`` is for a person
reading ``make run``'s terminal. Both show the request id, so a line can be traced to its request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from portal.observability import context

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is kept.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "task_id"}
)
_PLAIN_EXTRA_TYPES = (str, int, float, bool, type(None))


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (and ``task_id`` inside a Celery task) to every record it sees.

    Attached to the handler, not to loggers, so records of every logger (Django's, Celery's,
    third parties') get it; "-" when no request or task is in progress.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.request_id.get() or "-"
        record.task_id = context.task_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, request_id, task_id when in a
    task, exc_info when there is one, and the plain values passed through ``extra=``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or context.request_id.get(),
        }
        task_id = getattr(record, "task_id", None)
        if task_id:
            entry["task_id"] = task_id
        for key, value in vars(record).items():
            # Objects (Django's ``request`` on django.request records) are left out: their
            # repr says little and could say too much.
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, _PLAIN_EXTRA_TYPES):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry).decode()
