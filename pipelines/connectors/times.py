"""Timestamps as CI systems write them, to aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

# GitLab hooks: "2016-08-12 15:23:28 UTC" and "2021-04-28 21:50:00 +0200" (REST uses ISO 8601).
_HOOK_FORMATS = ("%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%d %H:%M:%S %z")


def parse_time(value: str | int | float | None) -> datetime | None:
    """ISO 8601 (any offset, ``Z``), GitLab hook formats, or epoch milliseconds (Jenkins).

    None and "" give None; anything else unreadable raises ValueError.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    try:  # ISO 8601 first: by far the most common, and fromisoformat is fast
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    for hook_format in _HOOK_FORMATS if parsed is None else ():
        try:
            parsed = datetime.strptime(text, hook_format)
            break
        except ValueError:
            continue
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
