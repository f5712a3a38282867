"""Policy pages, under /pipelines/ (portal/urls.py includes them)."""

from __future__ import annotations

from django.urls import path

from pipelines.policies import views

urlpatterns = [
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<slug:slug>/", views.policy_detail, name="policy_detail"),
    path("compliance/<slug:slug>/", views.compliance_service, name="compliance_service"),
    path("waivers/", views.waiver_list, name="waiver_list"),
    path("waivers/<int:pk>/decide/", views.waiver_decide, name="waiver_decide"),
]
