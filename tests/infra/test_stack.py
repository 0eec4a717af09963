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
from tests.infra.template import bucket_id, function, only, resources

# --- Api ---------------------------------------------------------------------------------------------------


def test_every_api_method_requires_sigv4(template: Template) -> None:
    methods = resources(template, "AWS::ApiGateway::Method")

    assert len(methods) == 2 + len(constants.RUNTIME_PATHS) + len(constants.EVENTS_PATHS)
    assert {name: m["Properties"]["AuthorizationType"] for name, m in methods.items()} == {
        name: "AWS_IAM" for name in methods
    }
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"POST"}


def test_api_serves_the_runtime_and_events_paths(template: Template) -> None:
    path_parts = {r["Properties"]["PathPart"] for r in resources(template, "AWS::ApiGateway::Resource").values()}

    assert path_parts == {"{proxy+}", *constants.RUNTIME_PATHS, *constants.EVENTS_PATHS}


def test_each_api_goes_to_its_own_function(template: Template) -> None:
    functions = {
        handler: function(template, handler)[0]
        for handler in (constants.CONTROL_PLANE_HANDLER, constants.RUNTIME_HANDLER, constants.EVENTS_HANDLER)
    }
    paths = {name: r["Properties"]["PathPart"] for name, r in resources(template, "AWS::ApiGateway::Resource").items()}

    routed: dict[str, str] = {}
    for method in resources(template, "AWS::ApiGateway::Method").values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        [handler] = [h for h, function_id in functions.items() if function_id in json.dumps(integration["Uri"])]
        resource = method["Properties"]["ResourceId"]
        routed["/" if "Fn::GetAtt" in resource else paths[resource["Ref"]]] = handler

    assert routed == {
        "/": constants.CONTROL_PLANE_HANDLER,
        "{proxy+}": constants.CONTROL_PLANE_HANDLER,
        **{path: constants.RUNTIME_HANDLER for path in constants.RUNTIME_PATHS},
        **{path: constants.EVENTS_HANDLER for path in constants.EVENTS_PATHS},
    }


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


def test_outputs_give_the_endpoint_the_data_bucket_and_the_callers_policy(template: Template) -> None:
    outputs = template.find_outputs("*")
    api_id, _ = only(template, "AWS::ApiGateway::RestApi")
    policy_id, policy = only(template, "AWS::IAM::ManagedPolicy")
    data_bucket_id = bucket_id(template, constants.DATA_ACCESS_LOGS_PREFIX)

    assert set(outputs) == {
        constants.API_ENDPOINT_OUTPUT_ID, constants.CALLER_POLICY_OUTPUT_ID, constants.DATA_BUCKET_OUTPUT_ID}
    assert "execute-api" in json.dumps(outputs[constants.API_ENDPOINT_OUTPUT_ID]["Value"])
    assert outputs[constants.CALLER_POLICY_OUTPUT_ID]["Value"] == {"Ref": policy_id}
    assert outputs[constants.DATA_BUCKET_OUTPUT_ID]["Value"] == {"Ref": data_bucket_id}
    # A caller may invoke this API's stage (every method is POST) and nothing else.
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    arn = json.dumps(statement["Resource"])
    assert f'{{"Ref": "{api_id}"}}' in arn and arn.endswith('"/dev/POST/*"]]}')


# --- Storage -----------------------------------------------------------------------------------------------


def test_tables_are_on_demand_with_pitr_encryption_and_deletion_protection(template: Template) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")

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
    buckets = resources(template, "AWS::S3::Bucket")

    assert len(buckets) == 3  # artifacts, data, access logs
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
    bucket_ids = set(resources(template, "AWS::S3::Bucket"))
    policies = resources(template, "AWS::S3::BucketPolicy").values()

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
        "trainingCpu": "8192",
        "trainingMemoryMb": "32768",
        "dataLocations": "s3://a-bucket/in/, s3://b-bucket",
    }

    # When
    config = TailorConfig.from_context(App(context=context).node)

    # Then
    assert (config.stage, config.lambda_memory_mb, config.lambda_architecture) == ("prod", 2048, "arm64")
    assert config.cdk_nag is False
    assert config.deletion_protection is False  # follows removalPolicy=destroy unless set
    assert (config.training_cpu, config.training_memory_mb) == (8192, 32768)
    assert config.s3_data_locations == [("a-bucket", "in/"), ("b-bucket", "")]
    assert config.data_location_keys == ()


KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    "value",
    [
        # cdk.json: plain locations and {"location", "kmsKeyArn"} objects side by side
        ["s3://a-bucket/in/", {"location": "s3://b-bucket/out/", "kmsKeyArn": KEY_ARN}],
        # `cdk -c 'dataLocations=[...]'`: the same list as a JSON string
        json.dumps(["s3://a-bucket/in/", {"location": "s3://b-bucket/out/", "kmsKeyArn": KEY_ARN}]),
    ],
)
def test_config_reads_a_data_locations_kms_key(value: Any) -> None:
    config = TailorConfig.from_context(App(context={"dataLocations": value}).node)

    assert config.data_locations == ("s3://a-bucket/in/", "s3://b-bucket/out/")
    assert config.s3_data_locations == [("a-bucket", "in/"), ("b-bucket", "out/")]
    assert config.data_location_keys == (KEY_ARN,)


@pytest.mark.parametrize(
    "context",
    [
        {"stage": "has space"},
        {"removalPolicy": "snapshot"},
        {"lambdaMemoryMb": "64"},
        {"lambdaMemoryMb": "lots"},
        {"lambdaArchitecture": "sparc"},
        {"cdkNag": "maybe"},
        {"trainingCpu": "3000"},
        {"trainingCpu": "1024", "trainingMemoryMb": "16384"},  # 1 vCPU takes at most 8 GiB on Fargate
        {"jobTimeoutHours": "0"},
        {"dataLocations": "my-bucket/prefix/"},
        {"dataLocations": "s3://My_Bucket/"},
        {"dataLocations": "s3://bucket/logs/*.csv"},
        {"dataLocations": [1, 2]},
        {"dataLocations": [{"location": "s3://b-bucket/", "kmsKeyArn": "alias/data"}]},  # IAM matches key ARNs only
        {"dataLocations": [{"location": "s3://b-bucket/", "kmsKeyArn": "1234abcd-12ab-34cd-56ef-1234567890ab"}]},
        {"dataLocations": [{"location": "s3://b-bucket/", "kmsKeyArn": KEY_ARN.replace(":kms:", ":s3:")}]},
        {"dataLocations": [{"location": "s3://b-bucket/", "kmsKey": KEY_ARN}]},  # a misspelt field is not ignored
        {"dataLocations": [{"kmsKeyArn": KEY_ARN}]},
        {"dataLocations": "[not json"},
    ],
)
def test_config_rejects_invalid_context(context: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TailorConfig.from_context(App(context=context).node)


# --- Layer bundling ----------------------------------------------------------------------------------------


def test_layer_requirements_are_pinned_from_uv_lock_with_the_sdk() -> None:
    requirements = bundling.locked_requirements()
    names = {requirement.split("==")[0] for requirement in requirements}

    assert "numpy==2.4.6" in requirements
    assert {"aws-lambda-powertools", "numpy", "scipy"} <= names
    # The Lambda runtime's own boto3 is not the contract: the layer ships the locked one.
    assert {"boto3", "botocore", "s3transfer"} <= names
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
    monkeypatch.setattr(bundling, "bytecode_python", lambda: None)  # no Python 3.12: no bytecode of its own either

    # When
    bundled = bundling.LocalLayerBundling(["pkg==1"], "x86_64").try_bundle(str(tmp_path))

    # Then
    assert bundled is True
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "python",
        "python/pkg",
        "python/pkg/__init__.py",
    ]


def test_the_layer_gets_bytecode_that_needs_no_source_check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Lambda unzips the layer without the sources' mtimes: timestamp-checked bytecode would be ignored, and nothing
    compiled at a cold start is kept on its read-only file system."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(bundling, "bytecode_python", lambda: sys.executable)  # this test's interpreter stands in

    assert bundling.compile_layer(tmp_path) is True

    [pyc] = (tmp_path / "pkg" / "__pycache__").glob("__init__.*.pyc")
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, source not checked (PEP 552)


def test_local_bundling_defers_to_docker_without_uv_or_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bundling, "uv_command", lambda *_: None)
    monkeypatch.setattr(bundling, "pip_command", lambda *_: None)

    assert bundling.LocalLayerBundling(["pkg==1"], "x86_64").try_bundle(str(tmp_path)) is False


def test_cfn_lint_finds_nothing_but_cdks_usual_w3005(synthesized_assembly: str) -> None:
    """cfn-lint on the template `cdk synth` writes; W3005 (an explicit DependsOn that a Ref already implies) is how
    CDK writes templates."""
    import subprocess

    template_file = str(Path(synthesized_assembly) / f"{constants.STACK_ID}.template.json")
    cfn_lint = str(Path(sys.executable).with_name("cfn-lint"))  # the dev group's console script, beside python
    result = subprocess.run([cfn_lint, "--ignore-checks", "W3005", "--", template_file],
                            capture_output=True, text=True, timeout=300)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
