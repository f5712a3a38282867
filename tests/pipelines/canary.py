"""The canary token, the ways it can be spelled on the wire, and a CI server that echoes every
credential it receives back in its error bodies (the worst case: a proxy or a misconfigured
server that repeats the request in its error message)."""

from __future__ import annotations

import base64
import io
import json

from pypdf import PdfReader
from werkzeug import Request, Response

from pipelines.api import CONNECTOR_KINDS

CANARY = "CANARY0123456789abcdefCANARY"
JENKINS_USER = "ci-bot"


def token_for(kind: str) -> str:
    """A token of the kind's own shape, carrying the canary."""
    if kind == "jenkins":
        return f"{JENKINS_USER}:{CANARY}jenkins"  # user:apitoken
    if kind == "github":
        return f"ghp_{CANARY}"
    return f"{kind}-{CANARY}"


def webhook_secret_for(kind: str) -> str:
    return f"hook-{kind}-{CANARY}"


def needles() -> list[bytes]:
    """Every spelling that would betray a secret: the canary itself, and Jenkins' basic-auth
    header (base64, where the plain canary does not appear)."""
    jenkins = token_for("jenkins").encode()
    return [CANARY.encode(), base64.b64encode(jenkins)]


def canary_found(content: bytes | str, content_type: str = "") -> bool:
    data = content.encode() if isinstance(content, str) else content
    if content_type.startswith("application/pdf"):
        pages = PdfReader(io.BytesIO(data)).pages
        data += "".join(page.extract_text() for page in pages).encode()
    return any(needle in data for needle in needles())


def echo_credentials(request: Request) -> Response:
    """401 with every header and the query string in the body, shaped like each vendor's error
    (GitHub's "message", GitLab's "error", PagerDuty's "errors", Prometheus' "status"/"error")."""
    echoed = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
    echoed += f"; query: {request.query_string.decode()}"
    body = {
        "message": f"Bad credentials: {echoed}",
        "error": echoed,
        "errors": [echoed],
        "status": "error",
        "errorType": "unauthorized",
    }
    return Response(json.dumps(body), status=401, content_type="application/json")


# Every kind a person sets up (pipelines.api.CONNECTOR_KINDS): CI, monitoring, paging, SLOs.
ALL_KINDS = [str(kind) for kind in CONNECTOR_KINDS]


def around_canary(text: str) -> str:
    """The text around the first canary, for a failure message that shows where it leaked."""
    for needle in needles():
        at = text.find(needle.decode())
        if at >= 0:
            return text[max(at - 300, 0) : at + 60]
    return ""
