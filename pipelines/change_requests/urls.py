"""Pages of change requests, under /pipelines/change-requests/."""

from __future__ import annotations

from django.urls import path

from pipelines.change_requests import views

urlpatterns = [
    path("", views.change_request_list, name="change_request_list"),
    path("lead-time/", views.change_request_lead_time, name="change_request_lead_time"),
    path("<str:key>/", views.change_request_detail, name="change_request_detail"),
]
