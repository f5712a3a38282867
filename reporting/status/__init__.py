"""Stakeholder status reports (docs/status-reports.md): what a period's report contains
(``content``), saving it as sent (``services``), its PDF (``pdf``) and the email digest
(``digest``). ``periods`` holds the date arithmetic, pure."""
