"""Pages of incidents and their reviews, under /incidents/."""

from __future__ import annotations

from django.urls import path

from pipelines.incidents import views

urlpatterns = [
    path("", views.incident_list, name="incident_list"),
    path("reviews/", views.review_list, name="review_list"),
    path("reports/", views.incident_reports, name="incident_reports"),
    path("review-policy/", views.review_policy, name="review_policy"),
    path("<int:pk>/", views.incident_detail, name="incident_detail"),
    path("<int:pk>/review/", views.review_detail, name="incident_review"),
]
