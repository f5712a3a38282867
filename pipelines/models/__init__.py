"""The pipelines app's models: CI sources and delivery records (``delivery``), and the designed
process they are checked against: pipeline templates (``templates``), lifecycle policies and
waivers (``policies``), customer change requests (``change_requests``); production support
around incidents: timelines, post-incident reviews and their actions (``incidents``)."""

from pipelines.models.change_requests import ChangeRequest
from pipelines.models.delivery import (
    STATUS_CHOICES,
    Change,
    CISource,
    Deployment,
    Incident,
    IncidentStatus,
    JobRun,
    PipelineRun,
    RawEvent,
    Severity,
    SyncRun,
)
from pipelines.models.incidents import (
    IncidentEvent,
    PostIncidentReview,
    ReviewAction,
    ReviewPolicy,
)
from pipelines.models.policies import Policy, PolicyRule, PolicyVersion, RuleResult, Waiver
from pipelines.models.templates import (
    PipelineTemplate,
    ServiceTemplate,
    TemplateStage,
    TemplateVersion,
)

__all__ = [
    "STATUS_CHOICES",
    "CISource",
    "Change",
    "ChangeRequest",
    "Deployment",
    "Incident",
    "IncidentEvent",
    "IncidentStatus",
    "JobRun",
    "PipelineRun",
    "PipelineTemplate",
    "Policy",
    "PolicyRule",
    "PolicyVersion",
    "PostIncidentReview",
    "RawEvent",
    "ReviewAction",
    "ReviewPolicy",
    "RuleResult",
    "ServiceTemplate",
    "Severity",
    "SyncRun",
    "TemplateStage",
    "TemplateVersion",
    "Waiver",
]
