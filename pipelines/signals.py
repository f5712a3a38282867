"""Signals other apps listen to, so pipelines does not import them."""

from django.dispatch import Signal

# Sent inside the writer's transaction once a batch of delivery records is stored (ingestion
# of raw events, the push API). reporting refreshes its daily rollups on it.
records_stored = Signal()
