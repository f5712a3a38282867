"""A saved report as a PDF: its stored HTML in the print layout, rendered by WeasyPrint.

WeasyPrint loads what a document refers to (images, stylesheets) through a URL fetcher. Ours
accepts ``data:`` URIs only: the stylesheet is passed in as a string, and a report must never
make the server fetch a URL (an SSRF) or read a local file, whatever ends up in its HTML.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string

from reporting.models import StatusReport

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"data"})


def _fetcher():
    # Imported here: WeasyPrint needs Pango (the Makefile installs it), and the rest of the
    # portal must start without it.
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme not in ALLOWED_SCHEMES:
                logger.warning("status report PDF: refused to fetch %.200s", url)
                raise ValueError(f"Not fetched (only data: URIs are): {url[:200]}")
            return super().fetch(url, headers)

    return DataOnlyFetcher(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False)


def render_pdf(report: StatusReport) -> bytes:
    """The report as sent (its stored HTML), laid out for A4."""
    from weasyprint import HTML

    document = render_to_string(
        "reporting/status_report_print.html", {"report": report, "body": report.html}
    )
    # Links in the report are site paths; in a PDF they point at the portal.
    return HTML(
        string=document, base_url=f"{settings.SITE_URL}/", url_fetcher=_fetcher()
    ).write_pdf()


def pdf_filename(report: StatusReport) -> str:
    return f"flightdeck-status-{report.slug}.pdf"


def pdf_response(report: StatusReport) -> HttpResponse:
    """The PDF as a download, for the page and the API alike."""
    response = HttpResponse(render_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(report)}"'
    return response
