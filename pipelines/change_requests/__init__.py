"""Customer change requests: intake, triage, and delivery followed to production.

See docs/change-requests.md.

``linking`` finds the changes and deployments that carry a request, ``services`` writes (the
workflow, hand links, the delivery refresh), ``selectors`` reads (timeline, path to production,
customer lead time), ``api`` and ``views`` are the interfaces.
"""
