"""TailorStack: storage, functions and api constructs wired together; cdk-nag's AwsSolutions checks."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, CfnOutput, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import constants
from infra.api import Api
from infra.config import TailorConfig
from infra.functions import Functions
from infra.storage import Storage


class TailorStack(Stack):
    """One deployment of Tailor; environment-agnostic (no account, region or lookups)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TailorConfig, **kwargs: Any) -> None:
        kwargs.setdefault("stack_name", f"{constants.SERVICE_NAME}-{config.stage}")
        kwargs.setdefault("description", f"Tailor, a self-hosted Amazon Personalize ({config.stage})")
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.storage = Storage(self, constants.STORAGE_ID, config=config)
        self.functions = Functions(self, constants.FUNCTIONS_ID, config=config, storage=self.storage)
        self.api = Api(self, constants.API_ID, config=config, handler=self.functions.control_plane_function)
        CfnOutput(
            self,
            constants.API_ENDPOINT_OUTPUT_ID,
            value=self.api.url,
            description="endpoint_url for the personalize, personalize-runtime and personalize-events clients",
        )
        Tags.of(self).add("project", constants.SERVICE_NAME)
        Tags.of(self).add("stage", config.stage)


def add_compliance_checks(app: App) -> AwsSolutionsChecks:
    """Runs cdk-nag's AwsSolutions pack at every synth of app; an unacknowledged finding fails the synth."""
    checks = AwsSolutionsChecks(app)
    Validations.of(app).add_plugins(checks)
    return checks
