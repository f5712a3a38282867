"""Evidence files kept in Postgres: read an upload within the size limit, and hand a stored
file back as a download that browsers will not render in the portal's origin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat

from portal.exceptions import ApplicationError


@dataclass(frozen=True)
class Upload:
    name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_upload(upload, *, field: str = "file") -> Upload:
    """The upload's bytes, refused before reading when it is empty or over
    ``EVIDENCE_MAX_BYTES`` (the size comes from the multipart headers already parsed)."""
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size == 0:
        raise ApplicationError("The file is empty.", {field: ["The file is empty."]})
    if upload.size > limit:
        message = (
            f"Files are limited to {filesizeformat(limit)}; "
            f"this one is {filesizeformat(upload.size)}."
        )
        raise ApplicationError(message, {field: [message]})
    name = (upload.name or "evidence").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    return Upload(name=name, content_type=(upload.content_type or "")[:100], data=upload.read())


def attachment_response(name: str, data: bytes) -> HttpResponse:
    """Always a download of opaque bytes: an uploaded HTML or SVG file must not run as a page."""
    response = HttpResponse(bytes(data), content_type="application/octet-stream")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response
