"""Construct ids, handler paths and fixed names used across the infra package (defined once, here)."""

from __future__ import annotations

# Stack
STACK_ID = "Tailor"
SERVICE_NAME = "tailor"
API_ENDPOINT_OUTPUT_ID = "ApiEndpoint"
DATA_BUCKET_OUTPUT_ID = "DataBucketName"
CALLER_POLICY_OUTPUT_ID = "CallerPolicyArn"
CALLER_POLICY_ID = "CallerPolicy"

# Storage
STORAGE_ID = "Storage"
RESOURCES_TABLE_ID = "ResourcesTable"
EVENTS_TABLE_ID = "EventsTable"
ARTIFACTS_BUCKET_ID = "ArtifactsBucket"
ACCESS_LOGS_BUCKET_ID = "AccessLogsBucket"
ARTIFACTS_ACCESS_LOGS_PREFIX = "artifacts/"
# Where users put their CSVs and where batch jobs and exports may write, unless dataLocations names more.
DATA_BUCKET_ID = "DataBucket"
DATA_ACCESS_LOGS_PREFIX = "data/"

# Functions and the jobs workflow
FUNCTIONS_ID = "Functions"
DEPENDENCIES_LAYER_ID = "DependenciesLayer"
CONTROL_PLANE_FUNCTION_ID = "ControlPlane"
RUNTIME_FUNCTION_ID = "Runtime"
EVENTS_FUNCTION_ID = "Events"
WORKFLOW_FUNCTION_ID = "Workflow"

# The jobs workflow: small jobs in the workflow Lambda, large ones (tailor.config.CONTAINER_JOBS) on Fargate.
WORKFLOWS_ID = "Workflows"
JOBS_STATE_MACHINE_ID = "Jobs"
# The state machine's name is fixed ("tailor-<stage>-jobs") so that its ARN can be written without referencing it: the
# workflow Lambda and the job task start jobs too, and the state machine references the workflow Lambda (a Ref back
# would be a CloudFormation cycle). Step Functions allows 80 characters; a stage has at most 64.
JOBS_STATE_MACHINE_NAME_SUFFIX = "jobs"
CHOOSE_RUNNER_STATE_ID = "WhereToRun"
RUN_JOB_TASK_ID = "RunJob"
RUN_CONTAINER_JOB_TASK_ID = "RunContainerJob"
VPC_ID = "Network"
FLOW_LOGS_PREFIX = "vpc-flow-logs/"
CLUSTER_ID = "Cluster"
TASK_DEFINITION_ID = "JobTask"
JOB_CONTAINER_NAME = "job"
TRAINING_DOCKERFILE = "training/Dockerfile"
RECORD_FAILURE_TASK_ID = "RecordFailure"
# What Step Functions raises when ecs:runTask(.sync) could not start the task for a reason that goes away by itself;
# RunContainerJob retries only these. A container that ran and exited non-zero fails the state with
# States.TaskFailed, which is never retried: that job recorded its own failure, and a second run would train twice.
# Step Functions names a service's errors "<Service>.<ErrorName>"
# (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html), and for ecs:runTask.sync
# "a non-empty Failures field" fails the task with AmazonECS.Unknown
# (https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html).
ECS_TRANSIENT_ERRORS = (
    # Any ECS API error Step Functions has no narrower name for: Fargate's "Capacity is unavailable at this time"
    # (https://repost.aws/knowledge-center/ecs-fargate-runtask-capacity) and RunTask's "Rate exceeded" throttling
    # (seen so in https://github.com/AllenInstitute/neuron_morphology/issues/151) arrive as this.
    "ECS.AmazonECSException",
    # RunTask's own server-side error, "usually caused by a server issue" (ECS API reference, RunTask, Errors:
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html#API_RunTask_Errors).
    "ECS.ServerException",
    # The common throttling error of every AWS API, should Step Functions pass it on under its own name
    # (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html).
    "ECS.ThrottlingException",
    # RunTask answered but started no task (a non-empty Failures list, such as no room to place it); no container
    # ran, so starting it again cannot run a job twice.
    "AmazonECS.Unknown",
)
JOB_FAILED_STATE_ID = "JobFailed"
JOB_SUCCEEDED_STATE_ID = "JobSucceeded"
LOG_GROUP_ID = "Logs"
# Automatic training: one schedule runs the sweep job (tailor.autotrain) against every solution.
AUTO_TRAINING_SCHEDULE_ID = "AutoTrainingSchedule"
AUTO_TRAINING_RATE = "rate(1 hour)"
ROLE_ID = "Role"

# Handlers, referenced by module path only (the code ships as an asset of lambdas/).
CONTROL_PLANE_HANDLER = "tailor.handlers.control_plane.lambda_handler"
RUNTIME_HANDLER = "tailor.handlers.runtime.lambda_handler"
EVENTS_HANDLER = "tailor.handlers.events.lambda_handler"
WORKFLOW_HANDLER = "tailor.handlers.workflows.lambda_handler"
# The job name the workflow Lambda receives when the run-job task failed, with the error as `cause`.
FAIL_JOB = "fail"

# Powertools reads this variable; every Lambda logs and emits metrics under one service name.
ENV_POWERTOOLS_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"

# Api
API_ID = "Api"
REST_API_ID = "RestApi"
ACCESS_LOG_GROUP_ID = "AccessLogs"
GATEWAY_RESPONSE_4XX_ID = "Default4xx"
GATEWAY_RESPONSE_5XX_ID = "Default5xx"
# restJson1 paths of personalize-runtime and personalize-events (reference §1.3); the control plane is POST /.
RUNTIME_PATHS = ("recommendations", "personalize-ranking", "action-recommendations")
EVENTS_PATHS = ("events", "items", "users", "actions", "action-interactions")
# API Gateway's own errors (bad signature, throttling) in the awsJson error shape, so boto3 sees a real code.
GATEWAY_ERROR_TEMPLATE = '{"__type":"$context.error.responseType","message":$context.error.messageString}'
