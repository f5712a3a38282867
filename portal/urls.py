from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from maturity import api as maturity_api
from maturity import model_views as maturity_model_views
from maturity import views as maturity_views
from pipelines import api as pipelines_api
from pipelines import push_api, webhooks
from pipelines.change_requests import api as change_request_api
from pipelines.incidents import api as incident_api
from pipelines.incidents import review_api as incident_review_api
from pipelines.policies import api as policy_api
from pipelines.policies import compliance_api
from pipelines.promotion import api as promotion_api
from pipelines.promotion import views as promotion_views
from pipelines.templates import api as template_api
from pipelines.templates import conformance_api as template_conformance_api
from poc import api as poc_api
from poc import radar_api, radar_views
from poc import views as poc_views
from portal import api, views
from portal.health import health_page, healthz
from portal.observability.views import prometheus_metrics
from reporting import alert_views, report_api
from reporting import api as reporting_api
from reporting import views as reporting_views
from reporting.slos import api as slo_api
from roadmap import api as roadmap_api
from roadmap import deliverable_api, deliverable_views
from roadmap import version_api as roadmap_version_api
from roadmap import views as roadmap_views
from training import api as training_api
from training import skill_views as training_skill_views
from training import views as training_views

api_router = DefaultRouter()
api_router.register("teams", api.TeamViewSet, basename="team")
api_router.register("services", api.ServiceViewSet, basename="service")
api_router.register("environments", api.EnvironmentViewSet, basename="environment")
api_router.register("ci-sources", pipelines_api.CISourceViewSet, basename="cisource")
api_router.register("runs", pipelines_api.PipelineRunViewSet, basename="pipelinerun")
api_router.register("jobs", pipelines_api.JobRunViewSet, basename="jobrun")
api_router.register("deployments", push_api.DeploymentViewSet, basename="deployment")
api_router.register("changes", pipelines_api.ChangeViewSet, basename="change")
api_router.register(
    "pipeline-templates", template_api.PipelineTemplateViewSet, basename="pipelinetemplate"
)
api_router.register(
    "template-assignments",
    template_conformance_api.TemplateAssignmentViewSet,
    basename="templateassignment",
)
api_router.register(
    "template-conformance",
    template_conformance_api.TemplateConformanceViewSet,
    basename="templateconformance",
)
api_router.register("incidents", incident_api.IncidentViewSet, basename="incident")
api_router.register(
    "post-incident-reviews",
    incident_review_api.PostIncidentReviewViewSet,
    basename="postincidentreview",
)
api_router.register(
    "review-actions", incident_review_api.ReviewActionViewSet, basename="reviewaction"
)
api_router.register("policies", policy_api.PolicyViewSet, basename="policy")
api_router.register("policy-rules", policy_api.RuleViewSet, basename="policyrule")
api_router.register("waivers", policy_api.WaiverViewSet, basename="waiver")
api_router.register(
    "change-requests", change_request_api.ChangeRequestViewSet, basename="changerequest"
)
api_router.register("maturity-models", maturity_api.MaturityModelViewSet, basename="maturitymodel")
api_router.register("assessments", maturity_api.AssessmentViewSet, basename="assessment")
api_router.register("skills", training_api.SkillViewSet, basename="skill")
api_router.register("pocs", poc_api.PocViewSet, basename="poc")
api_router.register("radar-quadrants", radar_api.QuadrantViewSet, basename="radarquadrant")
api_router.register("radar", radar_api.RadarEntryViewSet, basename="radarentry")
api_router.register("skill-ratings", training_api.SkillRatingViewSet, basename="skillrating")
api_router.register("training-plans", training_api.TrainingPlanViewSet, basename="trainingplan")
api_router.register("roadmaps", roadmap_api.RoadmapViewSet, basename="roadmap")
api_router.register(
    rf"roadmaps/(?P<roadmap_slug>{api.SLUG_PATTERN})/versions",
    roadmap_version_api.RoadmapVersionViewSet,
    basename="roadmapversion",
)
api_router.register("initiatives", roadmap_api.InitiativeViewSet, basename="initiative")
api_router.register("deliverables", deliverable_api.DeliverableViewSet, basename="deliverable")
api_router.register("status-reports", report_api.StatusReportViewSet, basename="statusreport")
api_router.register("slos", slo_api.SloViewSet, basename="slo")

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
    path(
        "services/<slug:slug>/promotion/",
        promotion_views.service_promotion,
        name="service_promotion",
    ),
    path("accounts/", include(account_patterns)),
    path("", include("pipelines.urls")),
    path("pipelines/", include("pipelines.templates.urls")),
    path("pipelines/", include("pipelines.policies.urls")),
    path("pipelines/change-requests/", include("pipelines.change_requests.urls")),
    path("incidents/", include("pipelines.incidents.urls")),
    path("pipelines/promotion/", promotion_views.promotion_overview, name="promotion_overview"),
    path("metrics/", reporting_views.dora_dashboard, name="dora_dashboard"),
    path("metrics/explain/", reporting_views.dora_explain, name="dora_explain"),
    path("metrics/pipelines/", reporting_views.pipeline_health, name="pipeline_health"),
    path("maturity/", maturity_views.maturity_home, name="maturity_home"),
    path("maturity/gaps/", maturity_views.maturity_gaps, name="maturity_gaps"),
    path("maturity/models/", maturity_model_views.model_list, name="maturity_models"),
    path(
        "maturity/models/<slug:slug>/edit/",
        maturity_model_views.model_edit,
        name="maturity_model_edit",
    ),
    path(
        "maturity/assessments/<slug:slug>/",
        maturity_views.assessment_detail,
        name="assessment_detail",
    ),
    path(
        "maturity/assessments/<slug:slug>/review/",
        maturity_views.assessment_review,
        name="assessment_review",
    ),
    path("maturity/evidence/<int:pk>/", maturity_views.evidence_download, name="evidence_download"),
    path(
        "maturity/evidence/<int:pk>/remove/",
        maturity_views.evidence_remove,
        name="evidence_remove",
    ),
    path("pocs/", poc_views.poc_list, name="poc_list"),
    path("pocs/compare/<slug:problem>/", poc_views.poc_compare, name="poc_compare"),
    path("pocs/<slug:slug>/", poc_views.poc_detail, name="poc_detail"),
    path(
        "pocs/<slug:slug>/evidence/<int:pk>/",
        poc_views.evidence_download,
        name="poc_evidence_download",
    ),
    path(
        "pocs/<slug:slug>/<str:action>/",
        poc_views.poc_action,
        name="poc_action",
    ),
    path("roadmap/", roadmap_views.roadmap_home, name="roadmap"),
    path(
        "roadmap/<slug:slug>/versions/<int:number>/",
        roadmap_views.version_detail,
        name="roadmap_version",
    ),
    path(
        "roadmap/initiatives/<slug:slug>/",
        roadmap_views.initiative_detail,
        name="initiative_detail",
    ),
    path(
        "deliverables/<slug:slug>/",
        deliverable_views.deliverable_detail,
        name="deliverable_detail",
    ),
    path("radar/", radar_views.radar, name="radar"),
    path("radar/<slug:slug>/", radar_views.radar_entry, name="radar_entry"),
    path("training/", training_views.plan_list, name="training_plans"),
    path("training/plans/<slug:slug>/", training_views.plan_detail, name="training_plan"),
    path("training/skills/", training_views.skills_matrix, name="skills_matrix"),
    path(
        "training/skills/catalogue/",
        training_skill_views.skills_catalogue,
        name="skills_catalogue",
    ),
    path("reports/", include("reporting.report_urls")),
    path("metrics/slos/", include("reporting.slos.urls")),
    path("metrics/alerts/", alert_views.alert_list, name="alert_list"),
    path("metrics/alerts/new/", alert_views.alert_rule_create, name="alert_rule_create"),
    path("metrics/alerts/<int:pk>/", alert_views.alert_rule_edit, name="alert_rule_edit"),
    path(
        "metrics/alerts/<int:pk>/delete/", alert_views.alert_rule_delete, name="alert_rule_delete"
    ),
    path("healthz", healthz, name="healthz"),
    path("health/", health_page, name="health_page"),
    # Prometheus scrapes "metrics" with no slash; "metrics/" above is the DORA dashboard. The
    # pattern matches, so APPEND_SLASH never redirects it.
    path("metrics", prometheus_metrics, name="prometheus_metrics"),
    path("webhooks/<str:kind>/<slug:slug>/", webhooks.receive, name="webhook"),
    path("api/v1/metrics/dora/", reporting_api.DoraView.as_view(), name="metrics_dora"),
    path(
        "api/v1/metrics/dora/trend/",
        reporting_api.DoraTrendView.as_view(),
        name="metrics_dora_trend",
    ),
    path(
        "api/v1/metrics/pipeline-health/",
        reporting_api.PipelineHealthView.as_view(),
        name="metrics_pipeline_health",
    ),
    path(
        "api/v1/services/<slug:slug>/promotion/",
        promotion_api.ServicePromotionView.as_view(),
        name="service_promotion_api",
    ),
    path("api/v1/compliance/", compliance_api.ComplianceView.as_view(), name="compliance"),
    path(
        "api/v1/review-policy/",
        incident_review_api.ReviewPolicyView.as_view(),
        name="review_policy_api",
    ),
    path("api/v1/", include(api_router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file: no inline script for the CSP.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api_schema")),
        name="api_docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.not_found"
handler500 = "portal.errors.server_error"
