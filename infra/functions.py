"""Functions: the control-plane, runtime, events and workflow Lambdas, their dependencies layer and their roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Aws, CfnElement, Duration, IgnoreMode, Size, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from infra import constants
from infra.bundling import RUNTIME, dependencies_layer_code
from infra.config import ROOT, TailorConfig
from infra.storage import Storage
from tailor import config as tailor_config

LAMBDAS_DIR = ROOT / "lambdas"
# Only the tailor package goes into the function asset; tests, caches and the training image's folder stay out
# (git-style patterns: "/training" is lambdas/training, not the tailor.training package).
CODE_EXCLUDES = ["tests/", "__pycache__/", "*.pyc", "*.egg-info", "/training/", "/tailor/local/sample/"]
# API Gateway gives up on an integration after 29 s.
API_TIMEOUT = Duration.seconds(29)
WORKFLOW_TIMEOUT = Duration.minutes(15)
# Training spools the model artifact to /tmp before uploading it (the dense EASE part is n² · 4 bytes): 4 GiB holds a
# 30,000-item model, beyond what the workflow's memory trains anyway. Lambda's default is 512 MB (about 11,000 items).
WORKFLOW_TMP = Size.gibibytes(4)
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
# In the users' data locations jobs write results but never delete.
DATA_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
BUCKET_LIST_ACTIONS = ("s3:ListBucket",)
JOB_START_ACTIONS = ("states:StartExecution",)
# S3 calls KMS on the caller's behalf for objects in an SSE-KMS bucket: GetObject needs kms:Decrypt, PutObject and
# CreateMultipartUpload kms:GenerateDataKey, UploadPart kms:Decrypt too; no kms:Encrypt (S3 encrypts with the data key).
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions and
# https://repost.aws/knowledge-center/s3-large-file-encryption-kms-key
KMS_DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class Functions(Construct):
    """The Lambdas behind the API and the asynchronous jobs, each with a role allowing only what it does:

    - control plane: the resources table (read/write) and starting the jobs state machine; no events, no S3;
    - runtime: reads the resources and events tables and the artifacts bucket (models); writes nothing;
    - events: reads the resources table, writes the events table; no models, no S3;
    - workflow: what every job needs (grant_job_access), shared with the Fargate task that runs the large jobs, and
      starting jobs (automatic training starts `train`, a new version starts `update-campaign`).

    jobs_state_machine_arn: the jobs state machine's ARN, built from its fixed name (workflows.jobs_state_machine_arn).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TailorConfig,
        storage: Storage,
        jobs_state_machine_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.layer = lambda_.LayerVersion(
            self,
            constants.DEPENDENCIES_LAYER_ID,
            code=dependencies_layer_code(config.lambda_architecture),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[config.architecture],
            description="aws-lambda-powertools, boto3, numpy and scipy for the Tailor Lambdas (versions from uv.lock)",
        )
        self._code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=CODE_EXCLUDES, ignore_mode=IgnoreMode.GIT)
        self.environment = job_environment(storage)

        self.control_plane_function = self._function(
            constants.CONTROL_PLANE_FUNCTION_ID,
            handler=constants.CONTROL_PLANE_HANDLER,
            description="Tailor control plane: the personalize API (resources, statuses, starting jobs)",
            memory_mb=config.lambda_memory_mb,
            timeout=API_TIMEOUT,
            # Create* requests naming S3 locations the jobs may not use are refused at once.
            environment={
                **starter_environment(storage, jobs_state_machine_arn),
                tailor_config.ENV_DATA_LOCATIONS: data_locations_env(storage, config),
            },
        )
        _grant_table(self.control_plane_function, storage.resources_table, storage.resources_indexes, write=True)
        allow_starting_jobs(_role(self.control_plane_function), jobs_state_machine_arn)

        self.runtime_function = self._function(
            constants.RUNTIME_FUNCTION_ID,
            handler=constants.RUNTIME_HANDLER,
            description="Tailor runtime: the personalize-runtime API (GetRecommendations, GetPersonalizedRanking)",
            memory_mb=config.runtime_memory_mb,
            timeout=API_TIMEOUT,
            environment=self.environment,
        )
        _grant_table(self.runtime_function, storage.resources_table, storage.resources_indexes, write=False)
        _grant_table(self.runtime_function, storage.events_table, (), write=False)  # users' recent events
        _grant_bucket(self.runtime_function, storage.artifacts_bucket, write=False)  # models and catalogs
        Validations.of(_role(self.runtime_function)).acknowledge(_objects_wildcard(storage.artifacts_bucket))

        self.events_function = self._function(
            constants.EVENTS_FUNCTION_ID,
            handler=constants.EVENTS_HANDLER,
            description="Tailor events: the personalize-events API (PutEvents, PutItems, PutUsers)",
            memory_mb=config.lambda_memory_mb,
            timeout=API_TIMEOUT,
            environment=self.environment,
        )
        _grant_table(self.events_function, storage.resources_table, storage.resources_indexes, write=False)
        _grant_table(self.events_function, storage.events_table, (), write=True)

        self.workflow_function = self._function(
            constants.WORKFLOW_FUNCTION_ID,
            handler=constants.WORKFLOW_HANDLER,
            description="Tailor asynchronous jobs that fit a Lambda (activation, deletion, updates, small jobs)",
            memory_mb=config.workflow_memory_mb,
            timeout=WORKFLOW_TIMEOUT,
            environment=starter_environment(storage, jobs_state_machine_arn),
            tmp=WORKFLOW_TMP,
        )
        grant_job_access(_role(self.workflow_function), storage, config)
        allow_starting_jobs(_role(self.workflow_function), jobs_state_machine_arn)

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
        log_group = log_group_for(self, construct_id, self._config)
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


def log_group_for(scope: Construct, owner_id: str, config: TailorConfig) -> logs.LogGroup:
    """The log group of one function, task or state machine: a month of retention, removed with the stack's policy."""
    return logs.LogGroup(
        scope, f"{owner_id}{constants.LOG_GROUP_ID}", retention=LOG_RETENTION, removal_policy=config.cdk_removal_policy
    )


def service_role(scope: Construct, construct_id: str, service: str, description: str) -> iam.Role:
    """A role an AWS service assumes on this account's behalf only (aws:SourceAccount: no confused deputy)."""
    return iam.Role(
        scope,
        f"{construct_id}{constants.ROLE_ID}",
        assumed_by=iam.ServicePrincipal(service, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}),
        description=description,
    )


def job_environment(storage: Storage) -> dict[str, str]:
    """What every Lambda and the job container read (tailor.adapters.env)."""
    return {
        tailor_config.ENV_RESOURCES_TABLE: storage.resources_table.table_name,
        tailor_config.ENV_EVENTS_TABLE: storage.events_table.table_name,
        tailor_config.ENV_ARTIFACTS_BUCKET: storage.artifacts_bucket.bucket_name,
        # Saves an STS call per cold start when the domain builds ARNs.
        tailor_config.ENV_ACCOUNT_ID: Aws.ACCOUNT_ID,
        constants.ENV_POWERTOOLS_SERVICE_NAME: constants.SERVICE_NAME,
    }


def starter_environment(storage: Storage, jobs_state_machine_arn: str) -> dict[str, str]:
    """job_environment plus the jobs state machine's ARN, for what starts jobs: the control plane, the workflow Lambda
    and the job container (tailor.adapters.env starts executions only where the ARN is set)."""
    return {**job_environment(storage), tailor_config.ENV_STATE_MACHINE_ARN: jobs_state_machine_arn}


def allow_starting_jobs(role: iam.IRole, jobs_state_machine_arn: str) -> None:
    """states:StartExecution on the jobs state machine only, for each role whose code starts jobs."""
    iam.Grant.add_to_principal(grantee=role, actions=list(JOB_START_ACTIONS), resource_arns=[jobs_state_machine_arn])


def data_locations(storage: Storage, config: TailorConfig) -> list[tuple[str, str]]:
    """(bucket ARN, key prefix) of every S3 location jobs may use: the data bucket, then cdk.json's dataLocations."""
    named = [(f"arn:{Aws.PARTITION}:s3:::{bucket}", prefix) for bucket, prefix in config.s3_data_locations]
    return [(storage.data_bucket.bucket_arn, ""), *named]


def data_locations_env(storage: Storage, config: TailorConfig) -> str:
    """The same locations as s3:// URIs, comma-separated, for tailor.config.ENV_DATA_LOCATIONS."""
    return ",".join([f"s3://{storage.data_bucket.bucket_name}/", *config.data_locations])


def grant_job_access(role: iam.IRole, storage: Storage, config: TailorConfig) -> None:
    """Everything a job does, for the workflow Lambda and the Fargate task alike: the tables (a deletion job removes
    events), the artifacts bucket (snapshots, models, reports), and read/write on the S3 data locations only (imports
    and batch jobs read the files users name, batch jobs and exports write where they say; never delete), with the
    KMS keys cdk.json names for those locations' buckets."""
    _grant_table(role, storage.resources_table, storage.resources_indexes, write=True)
    _grant_table(role, storage.events_table, (), write=True)
    _grant_bucket(role, storage.artifacts_bucket, write=True)
    locations = data_locations(storage, config)
    iam.Grant.add_to_principal(
        grantee=role,
        actions=[*OBJECT_READ_ACTIONS, *DATA_WRITE_ACTIONS],
        resource_arns=[f"{bucket_arn}/{prefix}*" for bucket_arn, prefix in locations],
    )
    if config.data_location_keys:
        iam.Grant.add_to_principal(
            grantee=role, actions=list(KMS_DATA_KEY_ACTIONS), resource_arns=list(config.data_location_keys)
        )
    for bucket_arn, prefix in locations:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(BUCKET_LIST_ACTIONS),
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}} if prefix else None,
            )
        )
    Validations.of(role).acknowledge(
        _objects_wildcard(storage.artifacts_bucket),
        Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{nag_arn_of(storage.data_bucket)}/*]",
            reason="Get/put objects in the stack's data bucket, where users put files to import and read batch "
            "results: any key, since the requests name them.",
        ),
        *(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/{prefix}*]",
                reason="Get/put objects under a data location the deployer named in cdk.json (dataLocations).",
            )
            for bucket, prefix in config.s3_data_locations
        ),
    )


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


def nag_logical_id(construct: IConstruct) -> str:
    """The logical id of a construct's CloudFormation resource, as cdk-nag's finding ids spell a Ref: <LogicalId>."""
    resource = construct.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return str(Stack.of(construct).resolve(resource.logical_id))


def nag_arn_of(construct: IConstruct) -> str:
    """How cdk-nag spells a resource's Fn::GetAtt Arn in a finding id: <LogicalId.Arn>."""
    return f"<{nag_logical_id(construct)}.Arn>"


def _objects_wildcard(bucket: s3.IBucket) -> Acknowledgment:
    return Acknowledgment(
        id=f"AwsSolutions-IAM5[Resource::{nag_arn_of(bucket)}/*]",
        reason="Object-level actions (no s3:* and no other bucket) on the deployment's own artifacts bucket; "
        "object ARNs need the /* wildcard.",
    )
