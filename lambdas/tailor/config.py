"""Names shared by infra, adapters and test fixtures: table keys, indexes, environment variables."""

from __future__ import annotations

# Environment variables the Lambdas and the local server read (through tailor.adapters.env only).
ENV_RESOURCES_TABLE = "TAILOR_RESOURCES_TABLE"
ENV_EVENTS_TABLE = "TAILOR_EVENTS_TABLE"
ENV_ARTIFACTS_BUCKET = "TAILOR_ARTIFACTS_BUCKET"
ENV_STATE_MACHINE_ARN = "TAILOR_JOBS_STATE_MACHINE_ARN"
ENV_TOKEN_SECRET = "TAILOR_TOKEN_SECRET"  # signs nextToken values; any stable string
ENV_ACCOUNT_ID = "TAILOR_ACCOUNT_ID"  # optional; otherwise from STS or the Lambda context
ENV_REGION = "AWS_REGION"
# Seconds the runtime and events functions reuse what they read of campaigns, filters, trackers and datasets (a change
# to one is seen within this long); 0 reads them on every request, as local mode does.
ENV_CACHE_SECONDS = "TAILOR_CACHE_SECONDS"
DEFAULT_CACHE_SECONDS = 2.0
# The S3 locations (s3://bucket/prefix/, comma-separated) that a deployment's jobs may read and write: Create* requests
# naming any other location are refused at once instead of failing later on AccessDenied. Unset (local mode): any.
ENV_DATA_LOCATIONS = "TAILOR_DATA_LOCATIONS"

# The job and resource a training-image container runs (ECS container overrides set them; tailor.handlers.container).
ENV_JOB = "TAILOR_JOB"
ENV_JOB_ARN = "TAILOR_JOB_ARN"
# Jobs whose size has no bound a Lambda (15 minutes, 10 GB) can promise: in AWS the jobs state machine runs them on
# Fargate from the training image; everything else runs in the workflow Lambda. Local mode runs both in-process.
# Data deletion rewrites whole dataset snapshots, so it is one of them.
CONTAINER_JOBS = frozenset(
    {"train", "train-recommender", "batch-inference", "batch-segment", "export", "import", "delete-data"}
)

# Automatic training: the job the schedule (EventBridge Scheduler in AWS, a timer locally) starts, and the "arn" it
# is given: every solution is looked at (tailor.autotrain.sweep).
AUTO_TRAIN_JOB = "auto-train"
AUTO_TRAIN_TARGET = "all"

# The resources table: one item per resource (pk = ARN) plus name-lock items (pk = "name#<kind>#<name>").
RESOURCES_PK = "pk"
# GSI listing every resource of a kind, newest first.
BY_KIND_INDEX = "by-kind"
BY_KIND_PK = "kind"
# GSI listing the resources of a kind under one parent (datasets of a dataset group, ...).
BY_PARENT_INDEX = "by-parent"
BY_PARENT_PK = "kindParent"
# Sort key shared by both indexes: zero-padded creation time + ARN, so ties are stable.
LIST_SK = "listKey"

# The events table (real-time events, items and users put through personalize-events).
EVENTS_PK = "pk"
EVENTS_SK = "sk"

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
