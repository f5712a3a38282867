"""Environments at a glance: the promotion view (``selectors``), its API (``api``) and pages
(``views``). Definitions in ``selectors`` and docs/change-requests.md."""
