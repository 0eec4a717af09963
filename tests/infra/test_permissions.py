"""Least privilege in the synthesized template: each role allows only what its code does.

The control plane writes resources and starts jobs; the runtime only reads (resources, events, models); the events
function writes events and never touches S3; jobs (the workflow Lambda and the Fargate task alike) reach only the
stack's own buckets, the data locations named in cdk.json and their KMS keys, and may start further jobs.
tests/contract/test_function_permissions.py runs the code of each function with only those stores, to show the grants
are enough.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra import constants
from infra.config import TailorConfig, cdk_json_context
from infra.stack import TailorStack
from tailor import config as tailor_config
from tests.infra.template import as_list, bucket_id, function, only, resources, statements

WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                 "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"}
ALL_HANDLERS = (constants.CONTROL_PLANE_HANDLER, constants.RUNTIME_HANDLER, constants.EVENTS_HANDLER,
                constants.WORKFLOW_HANDLER)
# What a second deployment names in cdk.json: a plain location and one in a bucket encrypted with a KMS key.
LOCATION = "s3://user-data/personalize/"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEYED_LOCATION = {"location": "s3://keyed-data/in/", "kmsKeyArn": KEY_ARN}


def _role_of(template: Template, handler: str) -> str:
    role_id: str = function(template, handler)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id


def _task_role(template: Template) -> str:
    role_id: str = only(template, "AWS::ECS::TaskDefinition")[1]["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
    return role_id


def _ids(template: Template) -> dict[str, str]:
    tables = resources(template, "AWS::DynamoDB::Table")
    [events_table] = [name for name, t in tables.items() if "GlobalSecondaryIndexes" not in t["Properties"]]
    [resources_table] = [name for name in tables if name != events_table]
    return {
        "resources": resources_table,
        "events": events_table,
        "artifacts": bucket_id(template, constants.ARTIFACTS_ACCESS_LOGS_PREFIX),
        "data": bucket_id(template, constants.DATA_ACCESS_LOGS_PREFIX),
        "jobs": only(template, "AWS::StepFunctions::StateMachine")[0],
    }


def _grants(template: Template, role_id: str) -> dict[str, set[str]]:
    """action → what it is allowed on: the named stack resources it references, "*", or other literal ARNs."""
    ids = {f'"{logical_id}"': name for name, logical_id in _ids(template).items()}
    # The jobs state machine is granted by the ARN its fixed name makes, not by reference.
    ids[f':stateMachine:{_jobs_name(template)}"'] = "jobs"
    granted: dict[str, set[str]] = {}
    for statement in statements(template, role_id):
        assert statement["Effect"] == "Allow"
        targets: set[str] = set()
        for resource in as_list(statement["Resource"]):
            text = json.dumps(resource)
            named = {name for marker, name in ids.items() if marker in text}
            targets |= named or {resource if isinstance(resource, str) else text}
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(targets)
    return granted


def _jobs_name(template: Template) -> str:
    name: str = only(template, "AWS::StepFunctions::StateMachine")[1]["Properties"]["StateMachineName"]
    return name


def _prefixed(grants: dict[str, set[str]], prefixes: Iterable[str]) -> dict[str, set[str]]:
    return {action: targets for action, targets in grants.items() if action.startswith(tuple(prefixes))}


@pytest.mark.parametrize("handler", ALL_HANDLERS)
def test_lambda_roles_have_no_wildcards_and_log_only_to_their_own_group(template: Template, handler: str) -> None:
    role_id = _role_of(template, handler)
    grants = _grants(template, role_id)

    assert not [action for action in grants if action.endswith(":*") or action == "*"]
    assert not [action for action, targets in grants.items() if action.startswith(("dynamodb:", "s3:"))
                and "*" in targets]
    # Logging is granted on the function's own log group, not through AWSLambdaBasicExecutionRole.
    assert "ManagedPolicyArns" not in resources(template, "AWS::IAM::Role")[role_id]["Properties"]


def test_control_plane_writes_resources_and_starts_jobs_only(template: Template) -> None:
    grants = _prefixed(_grants(template, _role_of(template, constants.CONTROL_PLANE_HANDLER)),
                       ("dynamodb:", "s3:", "states:"))

    assert grants.pop("states:StartExecution") == {"jobs"}
    assert not [action for action in grants if action.startswith("states:")]
    assert {target for targets in grants.values() for target in targets} == {"resources"}  # no events, no S3
    assert "dynamodb:PutItem" in grants


def test_runtime_reads_and_never_writes(template: Template) -> None:
    grants = _prefixed(_grants(template, _role_of(template, constants.RUNTIME_HANDLER)),
                       ("dynamodb:", "s3:", "states:"))

    assert not WRITE_ACTIONS & set(grants)  # e.g. no dynamodb:PutItem on the resources table
    assert grants["dynamodb:Query"] == {"resources", "events"}  # campaigns, filters; the user's recent events
    assert grants["s3:GetObject"] == {"artifacts"}  # models and catalogs, nothing of the users' data
    assert not [action for action in grants if action.startswith("states:")]


def test_events_function_writes_events_and_cannot_read_models(template: Template) -> None:
    grants = _prefixed(_grants(template, _role_of(template, constants.EVENTS_HANDLER)),
                       ("dynamodb:", "s3:", "states:"))

    assert not [action for action in grants if action.startswith(("s3:", "states:"))]
    assert grants["dynamodb:PutItem"] == {"events"}  # not the resources table
    assert grants["dynamodb:GetItem"] == {"resources", "events"}


@pytest.mark.parametrize("role", ["workflow", "task"])
def test_jobs_reach_only_the_stack_buckets_and_never_delete_user_data(template: Template, role: str) -> None:
    role_id = _role_of(template, constants.WORKFLOW_HANDLER) if role == "workflow" else _task_role(template)
    grants = _prefixed(_grants(template, role_id), ("dynamodb:", "s3:"))

    assert grants["s3:GetObject"] == {"artifacts", "data"}
    assert grants["s3:PutObject"] == {"artifacts", "data"}
    assert grants["s3:DeleteObject"] == {"artifacts"}  # old models and snapshots; never the users' files
    assert grants["dynamodb:PutItem"] == {"resources", "events"}


@pytest.mark.parametrize("role", ["workflow", "task"])
def test_jobs_may_start_jobs_on_the_jobs_state_machine_only(template: Template, role: str) -> None:
    # Automatic training creates versions and starts `train`; a new version starts `update-campaign`.
    role_id = _role_of(template, constants.WORKFLOW_HANDLER) if role == "workflow" else _task_role(template)
    grants = _prefixed(_grants(template, role_id), ("states:",))

    assert grants == {"states:StartExecution": {"jobs"}}


def test_workflow_lambda_and_fargate_task_have_the_same_job_grants(template: Template) -> None:
    def data_grants(role_id: str) -> dict[str, set[str]]:
        return _prefixed(_grants(template, role_id), ("dynamodb:", "s3:", "kms:", "states:"))

    assert data_grants(_role_of(template, constants.WORKFLOW_HANDLER)) == data_grants(_task_role(template))


def test_resources_table_grants_name_the_indexes(template: Template) -> None:
    resources_arns = json.dumps([s["Resource"] for s in statements(template, _role_of(
        template, constants.CONTROL_PLANE_HANDLER))])

    assert f"/index/{tailor_config.BY_KIND_INDEX}" in resources_arns
    assert f"/index/{tailor_config.BY_PARENT_INDEX}" in resources_arns
    assert "/index/*" not in resources_arns


@pytest.fixture(scope="module")
def located() -> Template:
    """A deployment whose cdk.json names two more bucket prefixes, the second in a bucket encrypted with a KMS key."""
    locations = [LOCATION, KEYED_LOCATION]
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": [], "dataLocations": locations})
    stack = TailorStack(app, "Located", config=TailorConfig.from_context(app.node))
    return Template.from_stack(stack)


def test_named_data_locations_widen_the_job_grants_to_exactly_those_prefixes(located: Template) -> None:
    # Given a deployment whose cdk.json names one more bucket prefix (and one encrypted with a KMS key)
    template, location = located, LOCATION

    # Then the jobs may get and put objects under that prefix, list only that prefix, and delete nothing there
    role_statements: list[dict[str, Any]] = statements(template, _role_of(template, constants.WORKFLOW_HANDLER))
    text = json.dumps(role_statements)
    assert ":s3:::user-data/personalize/*" in text
    [listing] = [s for s in role_statements if ":s3:::user-data\"" in json.dumps(s["Resource"])]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["personalize/*"]}}
    [objects] = [s for s in role_statements if ":s3:::user-data/personalize/*" in json.dumps(s["Resource"])]
    assert "s3:DeleteObject" not in as_list(objects["Action"])
    # And the control plane refuses requests outside the data bucket and those prefixes
    variables = function(template, constants.CONTROL_PLANE_HANDLER)[1]["Properties"]["Environment"]["Variables"]
    assert json.dumps(variables[tailor_config.ENV_DATA_LOCATIONS]).endswith(
        f',{location},{KEYED_LOCATION["location"]}"]]}}')


@pytest.mark.parametrize("role", ["workflow", "task"])
def test_a_data_locations_kms_key_is_granted_to_the_jobs_for_s3_encryption_only(located: Template, role: str) -> None:
    role_id = _role_of(located, constants.WORKFLOW_HANDLER) if role == "workflow" else _task_role(located)

    # S3 SSE-KMS: GetObject and UploadPart decrypt, PutObject and CreateMultipartUpload generate a data key
    assert _prefixed(_grants(located, role_id), ("kms:",)) == {
        "kms:Decrypt": {KEY_ARN}, "kms:GenerateDataKey": {KEY_ARN}}
    assert ":s3:::keyed-data/in/*" in json.dumps(statements(located, role_id))


def test_no_role_may_use_kms_keys_not_named_and_the_api_functions_none(located: Template, template: Template) -> None:
    def kms_grants(deployment: Template, role_id: str) -> dict[str, set[str]]:
        return _prefixed(_grants(deployment, role_id), ("kms:",))

    for role_id in (*(_role_of(template, handler) for handler in ALL_HANDLERS), _task_role(template)):
        assert not kms_grants(template, role_id)  # cdk.json names no key: no kms:* at all
    for handler in (constants.CONTROL_PLANE_HANDLER, constants.RUNTIME_HANDLER, constants.EVENTS_HANDLER):
        assert not kms_grants(located, _role_of(located, handler))  # they never read the users' files
