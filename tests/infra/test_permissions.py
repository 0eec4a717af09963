"""Least privilege in the synthesized template: each role allows only what its code does.

The control plane writes resources and starts jobs; the runtime only reads (resources, events, models); the events
function writes events and never touches S3; jobs (the workflow Lambda and the Fargate task alike) reach only the
stack's own buckets and the data locations named in cdk.json. tests/contract/test_function_permissions.py runs the
code of each function with only those stores, to show the grants are enough.
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
    ids = {logical_id: name for name, logical_id in _ids(template).items()}
    granted: dict[str, set[str]] = {}
    for statement in statements(template, role_id):
        assert statement["Effect"] == "Allow"
        targets: set[str] = set()
        for resource in as_list(statement["Resource"]):
            text = json.dumps(resource)
            named = {name for logical_id, name in ids.items() if f'"{logical_id}"' in text}
            targets |= named or {resource if isinstance(resource, str) else text}
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(targets)
    return granted


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


def test_workflow_lambda_and_fargate_task_have_the_same_job_grants(template: Template) -> None:
    def data_grants(role_id: str) -> dict[str, set[str]]:
        return _prefixed(_grants(template, role_id), ("dynamodb:", "s3:"))

    assert data_grants(_role_of(template, constants.WORKFLOW_HANDLER)) == data_grants(_task_role(template))


def test_resources_table_grants_name_the_indexes(template: Template) -> None:
    resources_arns = json.dumps([s["Resource"] for s in statements(template, _role_of(
        template, constants.CONTROL_PLANE_HANDLER))])

    assert f"/index/{tailor_config.BY_KIND_INDEX}" in resources_arns
    assert f"/index/{tailor_config.BY_PARENT_INDEX}" in resources_arns
    assert "/index/*" not in resources_arns


def test_named_data_locations_widen_the_job_grants_to_exactly_those_prefixes() -> None:
    # Given a deployment whose cdk.json names one more bucket prefix
    location = "s3://user-data/personalize/"
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": [], "dataLocations": [location]})
    stack = TailorStack(app, "Located", config=TailorConfig.from_context(app.node))
    template = Template.from_stack(stack)

    # Then the jobs may get and put objects under that prefix, list only that prefix, and delete nothing there
    role_statements: list[dict[str, Any]] = statements(template, _role_of(template, constants.WORKFLOW_HANDLER))
    text = json.dumps(role_statements)
    assert ":s3:::user-data/personalize/*" in text
    [listing] = [s for s in role_statements if ":s3:::user-data\"" in json.dumps(s["Resource"])]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["personalize/*"]}}
    [objects] = [s for s in role_statements if ":s3:::user-data/personalize/*" in json.dumps(s["Resource"])]
    assert "s3:DeleteObject" not in as_list(objects["Action"])
    # And the control plane refuses requests outside the data bucket and that prefix
    variables = function(template, constants.CONTROL_PLANE_HANDLER)[1]["Properties"]["Environment"]["Variables"]
    assert json.dumps(variables[tailor_config.ENV_DATA_LOCATIONS]).endswith(f',{location}"]]}}')
