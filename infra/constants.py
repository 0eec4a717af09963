"""Construct ids, handler paths and fixed names used across the infra package (defined once, here)."""

from __future__ import annotations

# Stack
STACK_ID = "Tailor"
SERVICE_NAME = "tailor"
API_ENDPOINT_OUTPUT_ID = "ApiEndpoint"

# Storage
STORAGE_ID = "Storage"
RESOURCES_TABLE_ID = "ResourcesTable"
EVENTS_TABLE_ID = "EventsTable"
ARTIFACTS_BUCKET_ID = "ArtifactsBucket"
ACCESS_LOGS_BUCKET_ID = "AccessLogsBucket"
ARTIFACTS_ACCESS_LOGS_PREFIX = "artifacts/"

# Functions and the jobs workflow
FUNCTIONS_ID = "Functions"
DEPENDENCIES_LAYER_ID = "DependenciesLayer"
CONTROL_PLANE_FUNCTION_ID = "ControlPlane"
WORKFLOW_FUNCTION_ID = "Workflow"
JOBS_STATE_MACHINE_ID = "Jobs"
RUN_JOB_TASK_ID = "RunJob"
RECORD_FAILURE_TASK_ID = "RecordFailure"
JOB_FAILED_STATE_ID = "JobFailed"
JOB_SUCCEEDED_STATE_ID = "JobSucceeded"
LOG_GROUP_ID = "Logs"
# Automatic training: one schedule runs the sweep job (tailor.autotrain) against every solution.
AUTO_TRAINING_SCHEDULE_ID = "AutoTrainingSchedule"
AUTO_TRAINING_RATE = "rate(1 hour)"
ROLE_ID = "Role"

# Handlers, referenced by module path only (the code ships as an asset of lambdas/).
CONTROL_PLANE_HANDLER = "tailor.handlers.control_plane.lambda_handler"
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
