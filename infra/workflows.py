"""Workflows: the "jobs" state machine (small jobs in the workflow Lambda, large ones on Fargate from the training
image), the network and cluster the Fargate task runs in, and the automatic-training schedule."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import constants
from infra.config import TailorConfig
from infra.functions import (
    LAMBDAS_DIR,
    allow_starting_jobs,
    grant_job_access,
    log_group_for,
    nag_arn_of,
    service_role,
    starter_environment,
)
from infra.storage import Storage
from tailor import config as tailor_config

# What the training image does not need from lambdas/ (its build context); docker-style patterns.
IMAGE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/tests", "tailor/local/sample"]
SCRATCH_VOLUME = "scratch"
_CPU_ARCHITECTURES = {"x86_64": ecs.CpuArchitecture.X86_64, "arm64": ecs.CpuArchitecture.ARM64}
_IMAGE_PLATFORMS = {"x86_64": ecr_assets.Platform.LINUX_AMD64, "arm64": ecr_assets.Platform.LINUX_ARM64}
# Starting the task again after constants.ECS_TRANSIENT_ERRORS: up to 5 more tries, waits drawn at random (full jitter,
# so executions refused together do not come back together) below 10 s, 20 s, 40 s, 80 s, 160 s: about 5 minutes.
START_RETRY_INTERVAL = Duration.seconds(10)
START_RETRY_BACKOFF = 2
START_RETRY_ATTEMPTS = 5


def jobs_state_machine_name(config: TailorConfig) -> str:
    """tailor-<stage>-jobs: fixed, so that its ARN is known before the state machine exists (no Ref, no cycle)."""
    return f"{constants.SERVICE_NAME}-{config.stage}-{constants.JOBS_STATE_MACHINE_NAME_SUFFIX}"


def jobs_state_machine_arn(scope: Construct, config: TailorConfig) -> str:
    """arn:<partition>:states:<region>:<account>:stateMachine:tailor-<stage>-jobs, in the stack's account and region."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=jobs_state_machine_name(config),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class Workflows(Construct):
    """Every asynchronous job runs as one execution of the jobs state machine with input {"job", "arn"}; the state
    machine is named jobs_state_machine_name(config), and jobs_state_machine_arn is its ARN (the job task starts
    jobs too: a finished training updates the campaigns that follow $LATEST)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TailorConfig,
        storage: Storage,
        workflow_function: lambda_.IFunction,
        jobs_state_machine_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._jobs_state_machine_arn = jobs_state_machine_arn
        self.vpc = self._network(storage)
        # Container Insights off: its metrics bill as custom metrics, and the jobs are batch tasks whose logs,
        # exit codes and Step Functions history already say what happened.
        self.cluster = ecs.Cluster(
            self, constants.CLUSTER_ID, vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.DISABLED
        )
        Validations.of(self.cluster).acknowledge(
            Acknowledgment(
                id="AwsSolutions-ECS4",
                reason="The cluster only runs short batch tasks (training, batch jobs); their logs go to CloudWatch "
                "Logs and their outcome to the resource's status. Container Insights would add custom-metric "
                "charges to a deployment meant to cost nothing at rest.",
            )
        )
        self.task_definition, self.container = self._job_task(storage)
        self.security_group = ec2.SecurityGroup(
            self,
            "JobTaskSecurityGroup",
            vpc=self.vpc,
            description="Tailor job tasks: no inbound traffic; outbound to AWS APIs (S3, DynamoDB, ECR, Logs)",
            allow_all_outbound=True,
        )
        self.state_machine = self._jobs_state_machine(workflow_function)
        self.auto_training_schedule = self._auto_training_schedule(self.state_machine)

    def _network(self, storage: Storage) -> ec2.Vpc:
        """Public subnets and no NAT gateway: a NAT gateway bills about $32 a month with no traffic at all. Tasks get
        a public IP for the APIs without a gateway endpoint (ECR, CloudWatch Logs, Step Functions) and take no
        inbound connections; S3 and DynamoDB traffic goes through the free gateway endpoints."""
        vpc = ec2.Vpc(
            self,
            constants.VPC_ID,
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)
            ],
            restrict_default_security_group=True,
        )
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        vpc.add_gateway_endpoint("DynamoDB", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        vpc.add_flow_log(
            "FlowLogs",
            destination=ec2.FlowLogDestination.to_s3(storage.access_logs_bucket, constants.FLOW_LOGS_PREFIX),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        return vpc

    def _job_task(self, storage: Storage) -> tuple[ecs.FargateTaskDefinition, ecs.ContainerDefinition]:
        """The Fargate task: the training image (lambdas/training/Dockerfile, built by `cdk deploy`), sized from
        cdk.json, with the same environment and permissions as the workflow Lambda."""
        config = self._config
        task_role = service_role(
            self,
            constants.TASK_DEFINITION_ID,
            "ecs-tasks.amazonaws.com",
            "Tailor jobs on Fargate (training, batch jobs, imports, exports, data deletion)",
        )
        grant_job_access(task_role, storage, config)
        allow_starting_jobs(task_role, self._jobs_state_machine_arn)
        task_definition = ecs.FargateTaskDefinition(
            self,
            constants.TASK_DEFINITION_ID,
            cpu=config.training_cpu,
            memory_limit_mib=config.training_memory_mb,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=_CPU_ARCHITECTURES[config.lambda_architecture],
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            task_role=task_role,
        )
        log_group = log_group_for(self, constants.TASK_DEFINITION_ID, config)
        container = task_definition.add_container(
            constants.JOB_CONTAINER_NAME,
            container_name=constants.JOB_CONTAINER_NAME,
            image=ecs.ContainerImage.from_asset(
                str(LAMBDAS_DIR),
                file=constants.TRAINING_DOCKERFILE,
                platform=_IMAGE_PLATFORMS[config.lambda_architecture],
                exclude=IMAGE_EXCLUDES,
            ),
            environment=starter_environment(storage, self._jobs_state_machine_arn),
            logging=ecs.LogDrivers.aws_logs(stream_prefix=constants.JOB_CONTAINER_NAME, log_group=log_group),
            # Jobs write only to /tmp (spooled artifacts), a task-local volume; the image itself stays read-only. The
            # image declares VOLUME /tmp, writable by its user: without that Fargate mounts the volume root-owned 0755.
            readonly_root_filesystem=True,
            # SIGTERM (execution stopped or timed out) → the job records why it stopped; Fargate's longest grace.
            stop_timeout=Duration.seconds(120),
        )
        task_definition.add_volume(name=SCRATCH_VOLUME)
        container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume=SCRATCH_VOLUME, read_only=False))
        Validations.of(task_definition).acknowledge(
            Acknowledgment(
                id="AwsSolutions-ECS2",
                reason="The environment holds table and bucket names and the account id, no secrets; the job and "
                "ARN come as container overrides from the state machine.",
            ),
        )
        execution_role = task_definition.obtain_execution_role()
        Validations.of(execution_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken, which ECS needs to pull the training image, has no "
                "resource-level permissions.",
            ),
        )
        return task_definition, container

    def _jobs_state_machine(self, workflow: lambda_.IFunction) -> sfn.StateMachine:
        """{"job", "arn"} → run it where it fits (Lambda or Fargate); on any error, let the workflow Lambda record
        the failure on the resource (CREATE FAILED with the cause), then fail the execution."""
        timeout = Duration.hours(self._config.job_timeout_hours)
        run_job = tasks.LambdaInvoke(
            self,
            constants.RUN_JOB_TASK_ID,
            lambda_function=workflow,
            # No payload: the whole execution input ({"job", "arn", ...}) is the event.
            payload_response_only=True,
            result_path=sfn.JsonPath.DISCARD,
        )
        run_container_job = tasks.EcsRunTask(
            self,
            constants.RUN_CONTAINER_JOB_TASK_ID,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,  # ecs:runTask.sync: waits for the task to stop
            cluster=self.cluster,
            task_definition=self.task_definition,
            launch_target=tasks.EcsFargateLaunchTarget(platform_version=ecs.FargatePlatformVersion.LATEST),
            assign_public_ip=True,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_groups=[self.security_group],
            container_overrides=[
                tasks.ContainerOverride(
                    container_definition=self.container,
                    environment=[
                        tasks.TaskEnvironmentVariable(
                            name=tailor_config.ENV_JOB, value=sfn.JsonPath.string_at("$.job")
                        ),
                        tasks.TaskEnvironmentVariable(
                            name=tailor_config.ENV_JOB_ARN, value=sfn.JsonPath.string_at("$.arn")
                        ),
                    ],
                )
            ],
            task_timeout=sfn.Timeout.duration(timeout),
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
        record_failure.next(failed)
        succeeded = sfn.Succeed(self, constants.JOB_SUCCEEDED_STATE_ID)
        # Only errors that mean the task never started; a container that ran and failed is not run again.
        run_container_job.add_retry(
            errors=list(constants.ECS_TRANSIENT_ERRORS),
            interval=START_RETRY_INTERVAL,
            backoff_rate=START_RETRY_BACKOFF,
            max_attempts=START_RETRY_ATTEMPTS,
            jitter_strategy=sfn.JitterType.FULL,
        )
        for task in (run_job, run_container_job):
            task.add_catch(record_failure, errors=[sfn.Errors.ALL], result_path="$.error")
            task.next(succeeded)
        in_container = sfn.Condition.or_(
            *(sfn.Condition.string_equals("$.job", job) for job in sorted(tailor_config.CONTAINER_JOBS))
        )
        definition = (
            sfn.Choice(self, constants.CHOOSE_RUNNER_STATE_ID)
            .when(in_container, run_container_job)
            .otherwise(run_job)
        )

        log_group = log_group_for(self, constants.JOBS_STATE_MACHINE_ID, self._config)
        state_machine = sfn.StateMachine(
            self,
            constants.JOBS_STATE_MACHINE_ID,
            state_machine_name=jobs_state_machine_name(self._config),
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Longer than the task's own timeout, so that a job stopped for taking too long still goes through the
            # catch path and its resource ends CREATE FAILED (an execution that times out runs no more states).
            timeout=timeout.plus(Duration.hours(1)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        Validations.of(state_machine).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="CloudWatch Logs delivery (logs:CreateLogDelivery, ...), X-Ray (xray:PutTraceSegments, ...) "
                "and ecs:StopTask/DescribeTasks on the tasks it starts (task ids are not known in advance) do not "
                "support narrower resources.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_arn_of(workflow)}:*]",
                reason="lambda:InvokeFunction on the workflow function's own versions and aliases, as "
                "LambdaInvoke grants it.",
            ),
        )
        return state_machine

    def _auto_training_schedule(self, state_machine: sfn.StateMachine) -> scheduler.CfnSchedule:
        """Automatic training's sweep (tailor.autotrain): one hourly execution of the jobs state machine looks at
        every solution and starts the versions that are due. Nothing is created per solution."""
        role = service_role(
            self,
            constants.AUTO_TRAINING_SCHEDULE_ID,
            "scheduler.amazonaws.com",
            "EventBridge Scheduler starts the Tailor jobs state machine for automatic training",
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
