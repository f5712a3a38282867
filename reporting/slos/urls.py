"""SLO pages, under /metrics/slos/ (portal/urls.py includes them)."""

from __future__ import annotations

from django.urls import path

from reporting.slos import views

urlpatterns = [
    path("", views.slo_list, name="slo_list"),
    path("new/", views.slo_create, name="slo_create"),
    path("service/<slug:slug>/", views.service_slos, name="service_slos"),
    path("<slug:slug>/", views.slo_detail, name="slo_detail"),
    path("<slug:slug>/edit/", views.slo_edit, name="slo_edit"),
    path("<slug:slug>/delete/", views.slo_delete, name="slo_delete"),
    path("<slug:slug>/evaluate/", views.slo_evaluate, name="slo_evaluate"),
]
