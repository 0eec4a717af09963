"""TailorStack: storage, functions, workflows and api constructs wired together; cdk-nag's AwsSolutions checks."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, App, CfnOutput, Stack, Tags, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import constants
from infra.api import Api
from infra.config import TailorConfig
from infra.functions import Functions, nag_logical_id
from infra.storage import Storage
from infra.workflows import Workflows, jobs_state_machine_arn


class TailorStack(Stack):
    """One deployment of Tailor; environment-agnostic (no account, region or lookups)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TailorConfig, **kwargs: Any) -> None:
        kwargs.setdefault("stack_name", f"{constants.SERVICE_NAME}-{config.stage}")
        kwargs.setdefault("description", f"Tailor, a self-hosted Amazon Personalize ({config.stage})")
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.storage = Storage(self, constants.STORAGE_ID, config=config)
        # The control plane, the workflow Lambda and the job task all start jobs; the state machine references the
        # workflow Lambda, so they know its ARN from its fixed name rather than by reference (which would be a cycle).
        jobs_arn = jobs_state_machine_arn(self, config)
        self.functions = Functions(
            self, constants.FUNCTIONS_ID, config=config, storage=self.storage, jobs_state_machine_arn=jobs_arn
        )
        self.workflows = Workflows(
            self,
            constants.WORKFLOWS_ID,
            config=config,
            storage=self.storage,
            workflow_function=self.functions.workflow_function,
            jobs_state_machine_arn=jobs_arn,
        )
        self.api = Api(
            self,
            constants.API_ID,
            config=config,
            control_plane=self.functions.control_plane_function,
            runtime=self.functions.runtime_function,
            events=self.functions.events_function,
        )
        self.caller_policy = self._caller_policy()

        CfnOutput(
            self,
            constants.API_ENDPOINT_OUTPUT_ID,
            value=self.api.url,
            description="endpoint_url for the personalize, personalize-runtime and personalize-events clients "
            "(sign for execute-api: tailor.client(...))",
        )
        CfnOutput(
            self,
            constants.CALLER_POLICY_OUTPUT_ID,
            value=self.caller_policy.managed_policy_arn,
            description="Attach to the users or roles that call Tailor (execute-api:Invoke on this API only)",
        )
        CfnOutput(
            self,
            constants.DATA_BUCKET_OUTPUT_ID,
            value=self.storage.data_bucket.bucket_name,
            description="Put CSVs to import and batch inputs here; batch jobs and exports may write here",
        )
        Tags.of(self).add("project", constants.SERVICE_NAME)
        Tags.of(self).add("stage", config.stage)

    def _caller_policy(self) -> iam.ManagedPolicy:
        """What an application needs to call this deployment: invoke the API's methods (all are POST)."""
        policy = iam.ManagedPolicy(
            self,
            constants.CALLER_POLICY_ID,
            description=f"Call the Tailor API ({self.config.stage}) with the personalize, personalize-runtime and "
            "personalize-events clients",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[self.api.rest_api.arn_for_execute_api("POST", "/*", self.config.stage)],
                )
            ],
        )
        api_id = nag_logical_id(self.api.rest_api)
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                f"<{api_id}>/{self.config.stage}/POST/*]",
                reason="Every operation of this one API stage (POST on any path: /, /recommendations, /events, "
                "...); callers need them all, as with Personalize's own APIs.",
            )
        )
        return policy


def add_compliance_checks(app: App) -> AwsSolutionsChecks:
    """Runs cdk-nag's AwsSolutions pack at every synth of app; an unacknowledged finding fails the synth."""
    checks = AwsSolutionsChecks(app)
    Validations.of(app).add_plugins(checks)
    return checks
