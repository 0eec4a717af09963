"""Functions: the control-plane and workflow Lambdas, their dependencies layer and the "jobs" state machine."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Aws, CfnElement, Duration, Size, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from infra import constants
from infra.bundling import RUNTIME, dependencies_layer_code
from infra.config import ROOT, TailorConfig
from infra.storage import Storage
from tailor import config as tailor_config

LAMBDAS_DIR = ROOT / "lambdas"
# Only the tailor package goes into the function asset; tests, caches and the training image stay out.
CODE_EXCLUDES = ["**/tests", "**/__pycache__", "**/*.pyc", "*.egg-info", "training", "tailor/local/sample"]
# API Gateway gives up on an integration after 29 s.
CONTROL_PLANE_TIMEOUT = Duration.seconds(29)
WORKFLOW_TIMEOUT = Duration.minutes(15)
# Training spools the model artifact to /tmp before uploading it (the dense EASE part is n² · 4 bytes): 4 GiB holds a
# 30,000-item model, beyond what the workflow's memory trains anyway. Lambda's default is 512 MB (about 11,000 items).
WORKFLOW_TMP = Size.gibibytes(4)
JOBS_TIMEOUT = Duration.hours(2)
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Item-level DynamoDB actions, listed rather than granted with grant_read_write_data so that the index grant
# names the table's own indexes instead of index/*. No table-management actions.
TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
TABLE_WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")
OBJECT_READ_ACTIONS = ("s3:GetObject",)
OBJECT_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
BUCKET_LIST_ACTIONS = ("s3:ListBucket",)


class Functions(Construct):
    """The Lambdas behind the API and the asynchronous jobs, each with its own least-privilege role."""

    def __init__(self, scope: Construct, construct_id: str, *, config: TailorConfig, storage: Storage) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.layer = lambda_.LayerVersion(
            self,
            constants.DEPENDENCIES_LAYER_ID,
            code=dependencies_layer_code(config.lambda_architecture),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[config.architecture],
            description="aws-lambda-powertools and numpy for the Tailor Lambdas (versions from uv.lock)",
        )
        self._code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=CODE_EXCLUDES)
        environment = {
            tailor_config.ENV_RESOURCES_TABLE: storage.resources_table.table_name,
            tailor_config.ENV_EVENTS_TABLE: storage.events_table.table_name,
            tailor_config.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name,
            # Saves an STS call per cold start when the domain builds ARNs.
            tailor_config.ENV_ACCOUNT_ID: Aws.ACCOUNT_ID,
            constants.ENV_POWERTOOLS_SERVICE_NAME: constants.SERVICE_NAME,
        }

        self.workflow_function = self._function(
            constants.WORKFLOW_FUNCTION_ID,
            handler=constants.WORKFLOW_HANDLER,
            description="Tailor asynchronous jobs (imports, training, batch), run by the jobs state machine",
            memory_mb=config.workflow_memory_mb,
            timeout=WORKFLOW_TIMEOUT,
            environment=environment,
            tmp=WORKFLOW_TMP,
        )
        self.jobs_state_machine = self._jobs_state_machine(self.workflow_function)
        self.auto_training_schedule = self._auto_training_schedule(self.jobs_state_machine)
        self.control_plane_function = self._function(
            constants.CONTROL_PLANE_FUNCTION_ID,
            handler=constants.CONTROL_PLANE_HANDLER,
            description="Tailor control plane; for now it also serves the runtime and events routes",
            memory_mb=config.lambda_memory_mb,
            timeout=CONTROL_PLANE_TIMEOUT,
            environment={
                **environment,
                tailor_config.ENV_STATE_MACHINE_ARN: self.jobs_state_machine.state_machine_arn,
            },
        )

        resources_indexes = storage.resources_indexes
        artifacts = storage.artifacts_bucket

        control_plane = self.control_plane_function
        _grant_table(control_plane, storage.resources_table, resources_indexes, write=True)
        # The control plane answers PutEvents and GetRecommendations until the runtime and events Lambdas exist.
        _grant_table(control_plane, storage.events_table, (), write=True)
        _grant_bucket(control_plane, artifacts, write=True)
        self.jobs_state_machine.grant_start_execution(control_plane)
        Validations.of(_role(control_plane)).acknowledge(_objects_wildcard(artifacts))

        workflow = self.workflow_function
        _grant_table(workflow, storage.resources_table, resources_indexes, write=True)
        _grant_table(workflow, storage.events_table, (), write=True)  # data deletion jobs remove events
        _grant_bucket(workflow, artifacts, write=True)
        # Import and batch jobs read the user's own bucket, named in the request (dataSource.dataLocation,
        # jobInput); batch jobs and exports write their results where the request says (jobOutput, jobOutput path).
        iam.Grant.add_to_principal(
            grantee=workflow, actions=[*OBJECT_READ_ACTIONS, *BUCKET_LIST_ACTIONS, "s3:PutObject",
                                       "s3:AbortMultipartUpload"], resource_arns=["*"]
        )
        Validations.of(_role(workflow)).acknowledge(
            _objects_wildcard(artifacts),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Import and batch jobs read (s3:GetObject/s3:ListBucket) and batch jobs and exports write "
                "(s3:PutObject, no delete) the user's own bucket, which is only known at request time "
                "(dataSource.dataLocation, jobInput, jobOutput); a bucket in another account still has to allow this "
                "role in its bucket policy.",
            ),
        )

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        memory_mb: int,
        timeout: Duration,
        environment: Mapping[str, str],
        tmp: Size | None = None,
    ) -> lambda_.Function:
        """A Python Lambda with its own log group and a role that may only write to that log group."""
        log_group = logs.LogGroup(
            self,
            f"{construct_id}{constants.LOG_GROUP_ID}",
            retention=LOG_RETENTION,
            removal_policy=self._config.cdk_removal_policy,
        )
        role = iam.Role(
            self,
            f"{construct_id}{constants.ROLE_ID}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Tailor {construct_id} Lambda",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            runtime=RUNTIME,
            architecture=self._config.architecture,
            handler=handler,
            code=self._code,
            layers=[self.layer],
            memory_size=memory_mb,
            timeout=timeout,
            ephemeral_storage_size=tmp,
            environment=dict(environment),
            description=description,
            role=role,
            log_group=log_group,
        )
        Validations.of(function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason=f"{RUNTIME.name} is pinned on purpose: the layer's wheels (numpy, cp312) and the training "
                "image target it, and all three move to a newer Python together.",
            )
        )
        return function

    def _auto_training_schedule(self, state_machine: sfn.StateMachine) -> scheduler.CfnSchedule:
        """Automatic training's sweep (tailor.autotrain): one hourly execution of the jobs state machine looks at
        every solution and starts the versions that are due. Nothing is created per solution."""
        role = iam.Role(
            self,
            f"{constants.AUTO_TRAINING_SCHEDULE_ID}{constants.ROLE_ID}",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}),
            description="EventBridge Scheduler starts the Tailor jobs state machine for automatic training",
        )
        state_machine.grant_start_execution(role)
        return scheduler.CfnSchedule(
            self,
            constants.AUTO_TRAINING_SCHEDULE_ID,
            description="Tailor automatic training: start the solution versions that are due",
            schedule_expression=constants.AUTO_TRAINING_RATE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({"job": tailor_config.AUTO_TRAIN_JOB, "arn": tailor_config.AUTO_TRAIN_TARGET}),
            ),
        )

    def _jobs_state_machine(self, workflow: lambda_.IFunction) -> sfn.StateMachine:
        """{"job", "arn"} → run the job; on any error, let the same Lambda record the failure, then fail."""
        run_job = tasks.LambdaInvoke(
            self,
            constants.RUN_JOB_TASK_ID,
            lambda_function=workflow,
            # No payload: the whole execution input ({"job", "arn", ...}) is the event.
            payload_response_only=True,
            result_path=sfn.JsonPath.DISCARD,
        )
        record_failure = tasks.LambdaInvoke(
            self,
            constants.RECORD_FAILURE_TASK_ID,
            lambda_function=workflow,
            payload=sfn.TaskInput.from_object(
                {
                    "job": constants.FAIL_JOB,
                    "arn": sfn.JsonPath.string_at("$.arn"),
                    "cause": sfn.JsonPath.object_at("$.error"),
                }
            ),
            payload_response_only=True,
            result_path=sfn.JsonPath.DISCARD,
        )
        failed = sfn.Fail(self, constants.JOB_FAILED_STATE_ID, error_path="$.error.Error", cause_path="$.error.Cause")
        run_job.add_catch(record_failure.next(failed), errors=[sfn.Errors.ALL], result_path="$.error")
        definition = run_job.next(sfn.Succeed(self, constants.JOB_SUCCEEDED_STATE_ID))

        log_group = logs.LogGroup(
            self,
            f"{constants.JOBS_STATE_MACHINE_ID}{constants.LOG_GROUP_ID}",
            retention=LOG_RETENTION,
            removal_policy=self._config.cdk_removal_policy,
        )
        state_machine = sfn.StateMachine(
            self,
            constants.JOBS_STATE_MACHINE_ID,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=JOBS_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        Validations.of(state_machine).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray (xray:PutTraceSegments, "
                "...) actions do not support resource-level permissions.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_arn_of(workflow)}:*]",
                reason="lambda:InvokeFunction on the workflow function's own versions and aliases, as "
                "LambdaInvoke grants it.",
            ),
        )
        return state_machine


def _grant_table(grantee: iam.IGrantable, table: dynamodb.ITable, indexes: Sequence[str], *, write: bool) -> iam.Grant:
    actions = [*TABLE_READ_ACTIONS, *(TABLE_WRITE_ACTIONS if write else ())]
    resources = [table.table_arn, *(f"{table.table_arn}/index/{index}" for index in indexes)]
    return iam.Grant.add_to_principal(grantee=grantee, actions=actions, resource_arns=resources)


def _grant_bucket(grantee: iam.IGrantable, bucket: s3.IBucket, *, write: bool) -> None:
    object_actions = [*OBJECT_READ_ACTIONS, *(OBJECT_WRITE_ACTIONS if write else ())]
    iam.Grant.add_to_principal(grantee=grantee, actions=object_actions, resource_arns=[bucket.arn_for_objects("*")])
    iam.Grant.add_to_principal(grantee=grantee, actions=list(BUCKET_LIST_ACTIONS), resource_arns=[bucket.bucket_arn])


def _role(function: lambda_.Function) -> iam.IRole:
    """The function's role: its default policy is where the grants (and their cdk-nag findings) land."""
    if function.role is None:
        raise ValueError(f"{function.node.path} has no role")
    return function.role


def _arn_of(construct: IConstruct) -> str:
    """How cdk-nag spells a resource's Fn::GetAtt Arn in a finding id: <LogicalId.Arn>."""
    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return f"<{Stack.of(construct).resolve(resource.logical_id)}.Arn>"


def _objects_wildcard(bucket: s3.IBucket) -> Acknowledgment:
    return Acknowledgment(
        id=f"AwsSolutions-IAM5[Resource::{_arn_of(bucket)}/*]",
        reason="Object-level actions (no s3:* and no other bucket) on the deployment's own artifacts bucket; "
        "object ARNs need the /* wildcard.",
    )
