"""Production support in the portal: the incident workflow (triage, updates, acknowledgement,
mitigation, resolution), post-incident reviews with their actions, and incident reports.

Incidents themselves come from their sources (labelled issues, the push API, monitoring tools)
or are opened here; see docs/incidents.md."""
