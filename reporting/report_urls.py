from __future__ import annotations

from django.urls import path

from reporting import report_views

urlpatterns = [
    path("", report_views.status_reports, name="status_reports"),
    path("digest/", report_views.status_digest, name="status_digest"),
    path("<slug:slug>/", report_views.status_report_detail, name="status_report_detail"),
    path("<slug:slug>/pdf/", report_views.status_report_pdf, name="status_report_pdf"),
]
