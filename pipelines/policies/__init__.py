"""Lifecycle policies: versioned text plus machine-checked rules over the delivery data, their
results per service and day (the compliance scorecard and its trend), and waivers.

``rules`` and ``params`` (pure evaluators and their params), ``evaluation`` (delivery data ->
rule results), ``services`` (writes), ``selectors`` (the scorecard), ``api`` and
``compliance_api``, ``views``, ``forms``, ``urls``. Definitions in docs/policies.md.
"""
