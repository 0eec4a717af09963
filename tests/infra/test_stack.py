"""Assertions on the synthesized TailorStack (auth, storage, jobs workflow, IAM, cdk-nag), its config and bundling."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from infra import bundling, constants
from infra.config import TailorConfig, cdk_json_context
from infra.stack import TailorStack
from tailor import config as tailor_config

Resource = dict[str, Any]


def _resources(template: Template, type_name: str, props: Any = None) -> dict[str, Resource]:
    return {name: dict(resource) for name, resource in template.find_resources(type_name, props).items()}


def _only(template: Template, type_name: str, props: Any = None) -> tuple[str, Resource]:
    found = _resources(template, type_name, props)
    assert len(found) == 1, f"expected one {type_name} matching {props}, found {sorted(found)}"
    return next(iter(found.items()))


def _statements(template: Template, role_logical_id: str) -> list[Resource]:
    statements: list[Resource] = []
    for policy in _resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function(template: Template, handler: str) -> tuple[str, Resource]:
    return _only(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})


def _state_machine_definition(template: Template) -> dict[str, Any]:
    """The ASL of the jobs state machine, with every CloudFormation intrinsic replaced by a placeholder."""
    _, state_machine = _only(template, "AWS::StepFunctions::StateMachine")
    definition = state_machine["Properties"]["DefinitionString"]
    if isinstance(definition, dict):
        separator, parts = definition["Fn::Join"]
        definition = separator.join(part if isinstance(part, str) else "INTRINSIC" for part in parts)
    parsed: dict[str, Any] = json.loads(definition)
    return parsed


# --- Api ---------------------------------------------------------------------------------------------------


def test_every_api_method_requires_sigv4(template: Template) -> None:
    methods = _resources(template, "AWS::ApiGateway::Method")

    assert len(methods) == 2 + len(constants.RUNTIME_PATHS) + len(constants.EVENTS_PATHS)
    assert {name: m["Properties"]["AuthorizationType"] for name, m in methods.items()} == {
        name: "AWS_IAM" for name in methods
    }
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"POST"}


def test_api_serves_the_runtime_and_events_paths(template: Template) -> None:
    path_parts = {r["Properties"]["PathPart"] for r in _resources(template, "AWS::ApiGateway::Resource").values()}

    assert path_parts == {"{proxy+}", *constants.RUNTIME_PATHS, *constants.EVENTS_PATHS}


def test_api_integrations_proxy_to_the_control_plane(template: Template) -> None:
    control_plane_id, _ = _function(template, constants.CONTROL_PLANE_HANDLER)

    for method in _resources(template, "AWS::ApiGateway::Method").values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert json.dumps(integration["Uri"]).count(control_plane_id) == 1


def test_stage_is_named_from_context_throttled_and_access_logged(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "AccessLogSetting": {"DestinationArn": Match.any_value(), "Format": Match.any_value()},
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200, "DataTraceEnabled": False}
                    )
                ]
            ),
        },
    )
    template.resource_count_is("AWS::ApiGateway::Account", 1)


@pytest.mark.parametrize("response_type", ["DEFAULT_4XX", "DEFAULT_5XX"])
def test_gateway_errors_use_the_aws_json_error_shape(template: Template, response_type: str) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": response_type,
            "ResponseTemplates": {"application/json": constants.GATEWAY_ERROR_TEMPLATE},
        },
    )


def test_endpoint_url_is_an_output(template: Template) -> None:
    outputs = template.find_outputs("*")

    assert list(outputs) == [constants.API_ENDPOINT_OUTPUT_ID]
    assert "execute-api" in json.dumps(outputs[constants.API_ENDPOINT_OUTPUT_ID]["Value"])


# --- Storage -----------------------------------------------------------------------------------------------


def test_tables_are_on_demand_with_pitr_encryption_and_deletion_protection(template: Template) -> None:
    tables = _resources(template, "AWS::DynamoDB::Table")

    assert len(tables) == 2
    for table in tables.values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"


def test_resources_table_has_the_list_indexes_named_in_tailor_config(template: Template) -> None:
    def index(name: str, partition_key: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": partition_key, "KeyType": "HASH"},
                {"AttributeName": tailor_config.LIST_SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": tailor_config.RESOURCES_PK, "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                index(tailor_config.BY_KIND_INDEX, tailor_config.BY_KIND_PK),
                index(tailor_config.BY_PARENT_INDEX, tailor_config.BY_PARENT_PK),
            ],
        },
    )


def test_events_table_keys_come_from_tailor_config(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": tailor_config.EVENTS_PK, "KeyType": "HASH"},
                {"AttributeName": tailor_config.EVENTS_SK, "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": Match.absent(),
        },
    )


def test_every_bucket_blocks_public_access_and_is_encrypted(template: Template) -> None:
    buckets = _resources(template, "AWS::S3::Bucket")

    assert len(buckets) == 2
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]


def test_every_bucket_policy_denies_insecure_transport(template: Template) -> None:
    bucket_ids = set(_resources(template, "AWS::S3::Bucket"))
    policies = _resources(template, "AWS::S3::BucketPolicy").values()

    tls_only = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in policies
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Action"] == "s3:*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert tls_only == bucket_ids


def test_artifacts_bucket_is_versioned_expires_old_versions_and_logs_access(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "Status": "Enabled"})]
                )
            },
            "LoggingConfiguration": {
                "DestinationBucketName": Match.any_value(),
                "LogFilePrefix": constants.ARTIFACTS_ACCESS_LOGS_PREFIX,
            },
        },
    )


# --- Functions and the jobs workflow -----------------------------------------------------------------------


def test_control_plane_function_handler_runtime_and_environment(template: Template) -> None:
    _, function = _function(template, constants.CONTROL_PLANE_HANDLER)
    properties = function["Properties"]

    assert properties["Runtime"] == "python3.12"
    assert properties["Architectures"] == ["x86_64"]
    assert properties["MemorySize"] == 1024
    assert set(properties["Environment"]["Variables"]) == {
        tailor_config.ENV_RESOURCES_TABLE,
        tailor_config.ENV_EVENTS_TABLE,
        tailor_config.ENV_ARTIFACTS_BUCKET,
        tailor_config.ENV_STATE_MACHINE_ARN,
        tailor_config.ENV_ACCOUNT_ID,
        constants.ENV_POWERTOOLS_SERVICE_NAME,
    }
    assert properties["Environment"]["Variables"][constants.ENV_POWERTOOLS_SERVICE_NAME] == constants.SERVICE_NAME


def test_workflow_function_does_not_get_the_state_machine_arn(template: Template) -> None:
    _, function = _function(template, constants.WORKFLOW_HANDLER)

    variables = function["Properties"]["Environment"]["Variables"]
    assert tailor_config.ENV_STATE_MACHINE_ARN not in variables
    assert tailor_config.ENV_RESOURCES_TABLE in variables
    # Training spools model artifacts to /tmp: more than Lambda's default 512 MB
    assert function["Properties"]["EphemeralStorage"] == {"Size": 4096}


def test_functions_share_one_dependencies_layer(template: Template) -> None:
    layer_id, layer = _only(template, "AWS::Lambda::LayerVersion")

    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for function in _resources(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"] == [{"Ref": layer_id}]


def test_jobs_state_machine_catches_errors_into_the_failure_task(template: Template) -> None:
    definition = _state_machine_definition(template)
    states, start = definition["States"], definition["StartAt"]

    run_job = states[start]
    assert start == constants.RUN_JOB_TASK_ID
    assert run_job["Type"] == "Task"
    assert run_job["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": constants.RECORD_FAILURE_TASK_ID}
    ]
    record_failure = states[constants.RECORD_FAILURE_TASK_ID]
    assert record_failure["Type"] == "Task"
    assert record_failure["Parameters"] == {"job": constants.FAIL_JOB, "arn.$": "$.arn", "cause.$": "$.error"}
    assert states[record_failure["Next"]]["Type"] == "Fail"
    assert states[run_job["Next"]]["Type"] == "Succeed"


def test_both_tasks_invoke_the_workflow_function(template: Template) -> None:
    workflow_id, _ = _function(template, constants.WORKFLOW_HANDLER)
    _, state_machine = _only(template, "AWS::StepFunctions::StateMachine")

    parts = state_machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    assert [part for part in parts if not isinstance(part, str)] == [{"Fn::GetAtt": [workflow_id, "Arn"]}] * 2


def test_state_machine_logs_every_event(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": "ALL"}), "TracingConfiguration": {"Enabled": True}},
    )


def test_automatic_training_sweeps_hourly_through_the_jobs_state_machine(template: Template) -> None:
    state_machine_id, _ = _only(template, "AWS::StepFunctions::StateMachine")
    _, schedule = _only(template, "AWS::Scheduler::Schedule")
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == constants.AUTO_TRAINING_RATE
    target = properties["Target"]
    assert target["Arn"] == {"Ref": state_machine_id}
    assert json.loads(target["Input"]) == {"job": tailor_config.AUTO_TRAIN_JOB, "arn": tailor_config.AUTO_TRAIN_TARGET}
    # The schedule's role may start that state machine and nothing else.
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    statements = _statements(template, role_id)
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": state_machine_id}}]


# --- IAM ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", [constants.CONTROL_PLANE_HANDLER, constants.WORKFLOW_HANDLER])
def test_lambda_roles_have_no_service_wildcards_and_no_dynamodb_on_star(template: Template, handler: str) -> None:
    _, function = _function(template, handler)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(template, role_id)

    assert statements
    for statement in statements:
        actions = _as_list(statement["Action"])
        assert not [action for action in actions if action.endswith(":*") or action == "*"], statement
        if any(action.startswith("dynamodb:") for action in actions):
            assert "*" not in _as_list(statement["Resource"]), statement
    # Logging is granted on the function's own log group, not through AWSLambdaBasicExecutionRole.
    assert "ManagedPolicyArns" not in _resources(template, "AWS::IAM::Role")[role_id]["Properties"]


def test_control_plane_may_start_the_jobs_state_machine_only(template: Template) -> None:
    _, function = _function(template, constants.CONTROL_PLANE_HANDLER)
    state_machine_id, _ = _only(template, "AWS::StepFunctions::StateMachine")
    statements = _statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])

    states = [s for s in statements if any(a.startswith("states:") for a in _as_list(s["Action"]))]
    assert states == [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": state_machine_id}}]


def test_resources_table_grants_name_the_indexes(template: Template) -> None:
    _, function = _function(template, constants.CONTROL_PLANE_HANDLER)
    statements = _statements(template, function["Properties"]["Role"]["Fn::GetAtt"][0])

    resources = json.dumps([s["Resource"] for s in statements])
    assert f"/index/{tailor_config.BY_KIND_INDEX}" in resources
    assert f"/index/{tailor_config.BY_PARENT_INDEX}" in resources
    assert "/index/*" not in resources


# --- Compliance --------------------------------------------------------------------------------------------


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(stack: TailorStack) -> None:
    # The same pack app.py registers; acknowledged findings (each with a reason) are not reported.
    report = AwsSolutionsChecks().validate_scope(stack)

    findings = [
        f"{violation.severity} {violation.rule_name}: {violation.description} "
        f"{[resource.construct_path for resource in violation.violating_resources]}"
        for violation in report.violations
    ]
    assert findings == []
    assert report.success


def test_synthesis_leaves_no_warnings_or_errors(stack: TailorStack) -> None:
    annotations = Annotations.from_stack(stack)

    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.any_value()) == []


# --- Config ------------------------------------------------------------------------------------------------


def test_config_defaults_are_the_cdk_json_values() -> None:
    assert TailorConfig.from_context(App(context=cdk_json_context()).node) == TailorConfig()


def test_config_parses_values_given_as_cli_strings() -> None:
    # Given `cdk synth -c stage=prod -c removalPolicy=destroy ...`, where every value is a string
    context = {
        "stage": "prod",
        "removalPolicy": "destroy",
        "lambdaMemoryMb": "2048",
        "lambdaArchitecture": "arm64",
        "cdkNag": "false",
    }

    # When
    config = TailorConfig.from_context(App(context=context).node)

    # Then
    assert (config.stage, config.lambda_memory_mb, config.lambda_architecture) == ("prod", 2048, "arm64")
    assert config.cdk_nag is False
    assert config.deletion_protection is False  # follows removalPolicy=destroy unless set


@pytest.mark.parametrize(
    "context",
    [
        {"stage": "has space"},
        {"removalPolicy": "snapshot"},
        {"lambdaMemoryMb": "64"},
        {"lambdaMemoryMb": "lots"},
        {"lambdaArchitecture": "sparc"},
        {"cdkNag": "maybe"},
    ],
)
def test_config_rejects_invalid_context(context: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        TailorConfig.from_context(App(context=context).node)


# --- Layer bundling ----------------------------------------------------------------------------------------


def test_layer_requirements_are_pinned_from_uv_lock_without_the_runtime_sdk() -> None:
    requirements = bundling.locked_requirements()
    names = {requirement.split("==")[0] for requirement in requirements}

    assert "numpy==2.4.6" in requirements
    assert {"aws-lambda-powertools", "numpy"} <= names
    assert not names & {"boto3", "botocore", "s3transfer"}
    assert all("==" in requirement for requirement in requirements)


def test_uv_command_targets_the_lambda_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UV", "/opt/uv")

    command = bundling.uv_command(tmp_path, ["numpy==2.4.6"], "x86_64")

    assert command is not None
    text = " ".join(command)
    assert command[:3] == ["/opt/uv", "pip", "install"]
    assert f"--target {tmp_path}" in text
    assert "--python-platform x86_64-manylinux_2_28 --python-version 3.12 --only-binary :all: --no-deps" in text
    assert command[-1] == "numpy==2.4.6"


def test_local_bundling_installs_into_python_and_strips_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given an installer that lays out a package with a test suite and bytecode
    script = (
        "import pathlib, sys; t = pathlib.Path(sys.argv[1]); "
        "[p.mkdir(parents=True) for p in (t / 'pkg' / 'tests', t / 'pkg' / '__pycache__', t / 'bin')]; "
        "(t / 'pkg' / '__init__.py').write_text('')"
    )
    monkeypatch.setattr(bundling, "uv_command", lambda target, *_: [sys.executable, "-c", script, str(target)])

    # When
    bundled = bundling.LocalLayerBundling(["pkg==1"], "x86_64").try_bundle(str(tmp_path))

    # Then
    assert bundled is True
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "python",
        "python/pkg",
        "python/pkg/__init__.py",
    ]


def test_local_bundling_defers_to_docker_without_uv_or_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bundling, "uv_command", lambda *_: None)
    monkeypatch.setattr(bundling, "pip_command", lambda *_: None)

    assert bundling.LocalLayerBundling(["pkg==1"], "x86_64").try_bundle(str(tmp_path)) is False
