"""Pipeline templates: the designed delivery process and how far reality is from it.

- ``gates``: the gate-expression grammar (pure).
- ``stages``: validation of a version's ordered stages, the default job-name patterns (pure).
- ``render``: a version as a starting GitHub Actions workflow, GitLab CI file or Jenkinsfile.
- ``services``: templates, their immutable versions, service assignments (leads write).
- ``selectors``: observed vs designed per service (conformance), adoption per template.
- ``api`` (templates, rendering), ``conformance_api`` (assignments, conformance), ``views``,
  ``forms``, ``filtersets``, ``urls``: the interfaces. See docs/pipeline-templates.md.
"""
