"""Incidents changed: evaluate the incident-measured SLOs of their services once the change
commits, so a burning budget pages without waiting for the next beat (docs/slos.md).

ORM writes of an incident (the push API, the incident workflow, monitoring webhooks) send
``post_save``/``post_delete`` with the service; bulk upserts of an ingestion batch send only
``records_stored``, without services, so that queues every incident-measured SLO.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from pipelines.models import Deployment, Incident
from pipelines.signals import records_stored
from reporting.slos import tasks  # noqa: F401 (registers the tasks with Celery)


@receiver(post_save, sender=Incident, dispatch_uid="reporting.slos.incident_saved")
@receiver(post_delete, sender=Incident, dispatch_uid="reporting.slos.incident_deleted")
def _incident_changed(sender, instance: Incident, **kwargs) -> None:
    from reporting.slos.evaluation import slos_evaluate_queue

    slos_evaluate_queue(service_ids=[instance.service_id])


@receiver(records_stored, dispatch_uid="reporting.slos.records_stored")
def _records_stored(sender, **kwargs) -> None:
    if sender in (Deployment, Incident):  # a pushed deployment; a pushed incident saved above
        return
    from reporting.slos.evaluation import slos_evaluate_queue

    slos_evaluate_queue(service_ids=None)
