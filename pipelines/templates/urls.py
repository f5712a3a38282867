"""Template pages, under /pipelines/ (included by portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from pipelines.templates import views

urlpatterns = [
    path("templates/", views.template_list, name="pipeline_template_list"),
    path("templates/<slug:slug>/", views.template_detail, name="pipeline_template_detail"),
    path("conformance/", views.conformance_page, name="template_conformance"),
]
