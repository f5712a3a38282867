"""Every browser route of the URLconf with the arguments of a real object, over the demo
organisation: the CSRF walk and the canary crawl share it, so a new page is covered by both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from maturity.models import Assessment, EvidenceFile, MaturityModel
from pipelines.models import CISource, Incident, Policy, Waiver
from pipelines.models.change_requests import ChangeRequest
from pipelines.models.templates import PipelineTemplate
from poc import services as poc_services
from poc.models import Evidence, Poc, RadarEntry
from portal.models import Service, Team
from portal.uploads import Upload
from reporting.models import AlertRule, StatusReport
from reporting.slos.models import Slo
from reporting.status.services import status_report_create, utc_today
from roadmap.models import Deliverable, Initiative, RoadmapVersion
from training.models import TrainingPlan

# Machine endpoints with their own authentication (signatures, tokens) and Django's admin,
# which has its own tests upstream.
NOT_BROWSER_FORMS = ("api/", "webhooks/", "admin/")


def first(queryset):
    found = queryset.first()
    assert found is not None, f"the demo has no {queryset.model.__name__}: create one here"
    return found


def _add_a_poc_evidence_file() -> None:
    """The demo's POC evidence is links and measurements; the download route needs a file."""
    poc = first(Poc.objects.exclude(status=Poc.Status.WITHDRAWN))
    admin = first(get_user_model().objects.filter(is_superuser=True))
    upload = Upload(name="timings.csv", content_type="text/csv", data=b"build,minutes\n1,4\n")
    poc_services.evidence_add(actor=admin, poc=poc, title="Build timings", upload=upload)


def _save_a_status_report() -> None:
    """The demo saves no status report; the report's page and PDF need one."""
    admin = first(get_user_model().objects.filter(is_superuser=True))
    today = utc_today()
    status_report_create(actor=admin, period_start=today - timedelta(days=7), period_end=today)


def _poc_evidence() -> dict:
    evidence = first(Evidence.objects.exclude(file_name="").select_related("poc"))
    return {"slug": evidence.poc.slug, "pk": evidence.pk}


def _version() -> dict:
    version = first(RoadmapVersion.objects.select_related("roadmap"))
    return {"slug": version.roadmap.slug, "number": version.number}


# route name -> the URL arguments of a real object in the demo
ROUTE_ARGUMENTS: dict[str, Callable[[], dict]] = {
    "team_detail": lambda: {"slug": first(Team.objects).slug},
    "service_detail": lambda: {"slug": first(Service.objects).slug},
    "service_promotion": lambda: {"slug": first(Service.objects).slug},
    "source_detail": lambda: {"slug": first(CISource.objects).slug},
    "source_edit": lambda: {"slug": first(CISource.objects).slug},
    "source_sync": lambda: {"slug": first(CISource.objects).slug},
    "pipeline_template_detail": lambda: {"slug": first(PipelineTemplate.objects).slug},
    "policy_detail": lambda: {"slug": first(Policy.objects).slug},
    "compliance_service": lambda: {"slug": first(Service.objects).slug},
    "waiver_decide": lambda: {"pk": first(Waiver.objects).pk},
    "change_request_detail": lambda: {"key": first(ChangeRequest.objects).key},
    "incident_detail": lambda: {"pk": first(Incident.objects).pk},
    "incident_review": lambda: {"pk": first(Incident.objects.filter(review__isnull=False)).pk},
    "maturity_model_edit": lambda: {"slug": first(MaturityModel.objects).slug},
    "assessment_detail": lambda: {"slug": first(Assessment.objects).slug},
    "assessment_review": lambda: {"slug": first(Assessment.objects).slug},
    "evidence_download": lambda: {"pk": first(EvidenceFile.objects).pk},
    "evidence_remove": lambda: {"pk": first(EvidenceFile.objects).pk},
    "poc_compare": lambda: {"problem": first(Poc.objects.exclude(problem_key="")).problem_key},
    "poc_detail": lambda: {"slug": first(Poc.objects).slug},
    "poc_evidence_download": _poc_evidence,
    "poc_action": lambda: {"slug": first(Poc.objects).slug, "action": "start"},
    "roadmap_version": _version,
    "initiative_detail": lambda: {"slug": first(Initiative.objects).slug},
    "deliverable_detail": lambda: {"slug": first(Deliverable.objects).slug},
    "radar_entry": lambda: {"slug": first(RadarEntry.objects).slug},
    "training_plan": lambda: {"slug": first(TrainingPlan.objects).slug},
    "status_report_detail": lambda: {"slug": first(StatusReport.objects).slug},
    "status_report_pdf": lambda: {"slug": first(StatusReport.objects).slug},
    "service_slos": lambda: {"slug": first(Slo.objects).service.slug},
    "slo_detail": lambda: {"slug": first(Slo.objects).slug},
    "slo_edit": lambda: {"slug": first(Slo.objects).slug},
    "slo_delete": lambda: {"slug": first(Slo.objects).slug},
    "slo_evaluate": lambda: {"slug": first(Slo.objects).slug},
    "alert_rule_edit": lambda: {"pk": first(AlertRule.objects).pk},
    "alert_rule_delete": lambda: {"pk": first(AlertRule.objects).pk},
}


def demo_world_load() -> None:
    """The demo organisation plus the few objects it lacks that some routes need."""
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _add_a_poc_evidence_file()
    _save_a_status_report()


def admin_user():
    return first(get_user_model().objects.filter(is_superuser=True))


def all_routes(patterns=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, route)
        else:
            yield route, pattern


def browser_routes() -> list[tuple[str, URLPattern]]:
    return [(route, p) for route, p in all_routes() if not route.startswith(NOT_BROWSER_FORMS)]


def browser_paths() -> list[str]:
    """A real path for each browser route."""
    return [
        reverse(p.name, kwargs=ROUTE_ARGUMENTS.get(p.name, dict)()) for _r, p in browser_routes()
    ]
