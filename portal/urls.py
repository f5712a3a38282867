from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal import api, views
from portal.health import healthz

api_router = DefaultRouter()
api_router.register("teams", api.TeamViewSet, basename="team")
api_router.register("services", api.ServiceViewSet, basename="service")
api_router.register("environments", api.EnvironmentViewSet, basename="environment")

account_patterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("services/", views.service_list, name="service_list"),
    path("services/<slug:slug>/", views.service_detail, name="service_detail"),
    path("accounts/", include(account_patterns)),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api_schema")),
        name="api_docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.not_found"
handler500 = "portal.errors.server_error"
