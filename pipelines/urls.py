from __future__ import annotations

from django.urls import path

from pipelines import views

urlpatterns = [
    path("sources/", views.source_list, name="source_list"),
    path("sources/new/", views.source_create, name="source_create"),
    path("sources/<slug:slug>/", views.source_detail, name="source_detail"),
    path("sources/<slug:slug>/edit/", views.source_edit, name="source_edit"),
    path("sources/<slug:slug>/sync/", views.source_sync, name="source_sync"),
    path("runs/", views.run_list, name="run_list"),
    path("deployments/", views.deployment_list, name="deployment_list"),
]
