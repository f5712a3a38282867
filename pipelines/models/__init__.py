"""The pipelines app's models: CI sources and delivery records (``delivery``), and the designed
process they are checked against: pipeline templates (``templates``), lifecycle policies and
waivers (``policies``), customer change requests (``change_requests``)."""

from pipelines.models.change_requests import ChangeRequest
from pipelines.models.delivery import (
    STATUS_CHOICES,
    Change,
    CISource,
    Deployment,
    Incident,
    JobRun,
    PipelineRun,
    RawEvent,
    SyncRun,
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
    "JobRun",
    "PipelineRun",
    "PipelineTemplate",
    "Policy",
    "PolicyRule",
    "PolicyVersion",
    "RawEvent",
    "RuleResult",
    "ServiceTemplate",
    "SyncRun",
    "TemplateStage",
    "TemplateVersion",
    "Waiver",
]
