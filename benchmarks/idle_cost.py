"""Idle cost: what one Tailor deployment bills in a month with zero traffic, next to Personalize's 1-TPS floor.

* **Template**: the real stack, synthesized as tests/infra/conftest.py does (cdk.json's context, bundling skipped).
  Every CloudFormation resource type in it must have a line in IDLE_BY_TYPE below, most of them $0 with the reason;
  a type without one stops the script (exit status 2), so a new resource cannot slip in unpriced. Things that bill
  by the hour whatever the traffic (NAT gateways, interface endpoints, Elastic IPs, provisioned concurrency, ECS
  services, KMS keys, an API cache, provisioned DynamoDB capacity) are checked for and must be absent.
* **The hourly sweep** (automatic training): its rate, the state machine it starts, the path that execution takes
  (walked from the definition with the schedule's input), the Lambda on that path and its memory all come from the
  template. Measured here: the Lambda's cold start (a fresh interpreter importing the handler's module, with no
  bytecode for Tailor's code, as in Lambda: the layer ships its packages' bytecode) and the first sweep of a fresh
  process on moto (building the service, the DynamoDB requests it makes, what the handler logs), for an empty
  deployment and with 20 solutions none of which is due. moto answers in-process, faster than DynamoDB: a stated
  allowance is added.
* **Storage at rest**: the training image in ECR (the python:3.12-slim base, an estimate, plus the wheels pinned in
  lambdas/training/requirements.txt, their sizes from uv.lock), and the CDK bootstrap bucket's copies of the
  dependencies layer (uv.lock's wheel sizes) and the code assets (zipped here from the synthesized assembly).
* **Peer**: Amazon Personalize's idle cost for the same capability: a campaign bills its minimum 1 TPS every hour
  ($0.20 per TPS-hour for the first 20,000 a month: seeds/003), traffic or not.

List prices are us-east-1, each with its page. The main figure ignores the free tiers; a second applies the
always-free ones (not the 12-month ones).

    uv run python benchmarks/idle_cost.py [--write]
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAMBDAS = ROOT / "lambdas"
HOURS_PER_MONTH = 730.0
ACCOUNT, REGION = "123456789012", "us-east-1"
SECTION = "Idle cost of a deployment"

# --- List prices, us-east-1 (checked 2026), each from the page named -------------------------------------------
# aws.amazon.com/lambda/pricing/: x86 duration per GB-second, and per request. Since 2025-08-01 the INIT phase of
# on-demand functions on managed runtimes is billed like the handler's time (aws.amazon.com/blogs/compute/
# aws-lambda-standardizes-billing-for-init-phase/). Always free: 1M requests and 400,000 GB-s a month.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_REQUEST = 0.20 / 1e6
# aws.amazon.com/step-functions/pricing/: standard workflows, per state transition; 4,000 a month free.
SFN_PER_TRANSITION = 0.025 / 1000
# aws.amazon.com/eventbridge/pricing/ (Scheduler): per invocation; 14M a month free.
SCHEDULER_PER_INVOCATION = 1.00 / 1e6
# aws.amazon.com/cloudwatch/pricing/: Logs ingestion (standard, and the first tier of vended logs) per GB, storage
# per GB-month; 5 GB of ingestion, storage and scanning a month free.
LOGS_PER_GB_INGESTED = 0.50
LOGS_PER_GB_MONTH_STORED = 0.03
# aws.amazon.com/xray/pricing/: per trace recorded; 100,000 a month free.
XRAY_PER_TRACE = 5.00 / 1e6
# aws.amazon.com/ecr/pricing/: private repository storage per GB-month (the 500 MB free tier is for 12 months).
ECR_PER_GB_MONTH = 0.10
# aws.amazon.com/s3/pricing/: S3 Standard, first 50 TB, per GB-month (no always-free tier).
S3_PER_GB_MONTH = 0.023
# aws.amazon.com/dynamodb/pricing/on-demand/: per read request unit (no free requests on demand); table storage and
# PITR per GB-month (25 GB of table storage always free).
DYNAMODB_PER_READ_UNIT = 0.125 / 1e6
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_PER_GB_MONTH = 0.25
DYNAMODB_PITR_PER_GB_MONTH = 0.20
# aws.amazon.com/vpc/pricing/: what the checks below keep out (per hour, traffic or not).
NAT_GATEWAY_PER_HOUR = 0.045
INTERFACE_ENDPOINT_PER_HOUR = 0.01
PUBLIC_IPV4_PER_HOUR = 0.005
# aws.amazon.com/personalize/pricing/ and seeds/003: real-time recommendations, per TPS-hour (first 20,000 a month),
# max(actual TPS, minProvisionedTPS) every hour; minProvisionedTPS is at least 1 (reference/personalize-api.md).
PERSONALIZE_PER_TPS_HOUR = 0.20
PERSONALIZE_MIN_TPS = 1

FREE_TIERS = {  # always free, a month (the 12-month tiers of S3 and ECR are not counted)
    "lambda-requests": 1e6, "lambda-gb-s": 400_000.0, "sfn": 4_000.0, "scheduler": 14e6, "xray": 100_000.0,
    "logs-gb": 5.0, "dynamodb-storage-gb": 25.0,
}  # fmt: skip

# --- Stated estimates and allowances -------------------------------------------------------------------------------
BASE_IMAGE_MB = 45.0  # python:3.12-slim, compressed, linux/amd64 (the image's FROM; not pulled here)
MOTO_ALLOWANCE_MS_PER_REQUEST = 10.0  # moto answers in-process; a DynamoDB request from Lambda takes a few ms
MIN_ALLOWANCE_MS = 50.0
LOG_EVENT_OVERHEAD_BYTES = 26  # CloudWatch Logs meters each event's bytes plus 26 bytes of metadata
SEEDED_SOLUTIONS = 20
# Per campaign Tailor keeps its model artifact in S3; the Serving section's EASE model for 100,000 items is 1,644 MiB.
EXAMPLE_ARTIFACT_GB = 1644 / 1024

# --- Every resource type in the template: what it bills with no traffic ------------------------------------------
FREE = "$0"
PRICED = "in the bill above"
NETWORK = "VPC, subnets, routes, internet gateway, gateway endpoints (no interface ones: checked), security groups"
IDLE_BY_TYPE: dict[str, tuple[str, str]] = {
    "AWS::ApiGateway::RestApi": (FREE, "API Gateway REST: billed per request (no cache cluster: checked)"),
    "AWS::ApiGateway::Resource": (FREE, "API Gateway REST: billed per request"),
    "AWS::ApiGateway::Method": (FREE, "API Gateway REST: billed per request"),
    "AWS::ApiGateway::Deployment": (FREE, "API Gateway REST: billed per request"),
    "AWS::ApiGateway::Stage": (FREE, "API Gateway REST: billed per request; access logs and metrics only per request"),
    "AWS::ApiGateway::GatewayResponse": (FREE, "API Gateway REST: billed per request"),
    "AWS::ApiGateway::Account": (FREE, "account setting (the CloudWatch role): free"),
    "AWS::Lambda::Function": (PRICED, "billed per request and GB-s: only the workflow function runs idle (the sweep)"),
    "AWS::Lambda::Permission": (FREE, "free"),
    "AWS::Lambda::LayerVersion": (PRICED, "Lambda stores it free; its zip in the CDK bootstrap bucket is S3 storage"),
    "AWS::StepFunctions::StateMachine": (PRICED, "standard: billed per state transition (the sweep's executions)"),
    "AWS::Scheduler::Schedule": (PRICED, "billed per invocation"),
    "AWS::Logs::LogGroup": (PRICED, "billed per GB ingested and stored: the sweep's logs"),
    "AWS::DynamoDB::Table": (PRICED, "on demand: per request (the sweep's reads); storage and PITR per GB (empty)"),
    "AWS::S3::Bucket": (FREE, "billed per GB stored and per request: empty, and nothing requests them idle"),
    "AWS::S3::BucketPolicy": (FREE, "free"),
    "AWS::IAM::Role": (FREE, "IAM: free"),
    "AWS::IAM::Policy": (FREE, "IAM: free"),
    "AWS::IAM::ManagedPolicy": (FREE, "IAM: free"),
    "AWS::EC2::VPC": (FREE, NETWORK),
    "AWS::EC2::Subnet": (FREE, NETWORK),
    "AWS::EC2::RouteTable": (FREE, NETWORK),
    "AWS::EC2::Route": (FREE, NETWORK),
    "AWS::EC2::SubnetRouteTableAssociation": (
        FREE, NETWORK),
    "AWS::EC2::InternetGateway": (
        FREE, NETWORK),
    "AWS::EC2::VPCGatewayAttachment": (
        FREE, NETWORK),
    "AWS::EC2::VPCEndpoint": (
        FREE, NETWORK),
    "AWS::EC2::SecurityGroup": (
        FREE, NETWORK),
    "AWS::EC2::FlowLog": (FREE, "per GB delivered: no network interface exists while no job runs"),
    "Custom::VpcRestrictDefaultSG": (FREE, "runs its Lambda at deploy time only"),
    "AWS::ECS::Cluster": (FREE, "free; Container Insights is off (checked above)"),
    "AWS::ECS::TaskDefinition": (
        PRICED, "Fargate bills running tasks only (and their public IPv4); the image in ECR is storage"),
}
# Absent by assertion: what bills by the hour (or month) whatever the traffic.
HOURLY_TYPES = {
    "AWS::EC2::NatGateway": f"NAT gateway (${NAT_GATEWAY_PER_HOUR}/h)",
    "AWS::EC2::EIP": f"Elastic IP (${PUBLIC_IPV4_PER_HOUR}/h)",
    "AWS::EC2::Instance": "EC2 instance",
    "AWS::ECS::Service": "ECS service (its tasks run all the time)",
    "AWS::Lambda::Version": "Lambda version (provisioned concurrency lives on versions and aliases)",
    "AWS::Lambda::Alias": "Lambda alias (provisioned concurrency)",
    "AWS::KMS::Key": "KMS customer managed key ($1/month)",
    "AWS::ElastiCache::CacheCluster": "cache cluster",
    "AWS::RDS::DBInstance": "database instance",
    "AWS::EC2::TransitGatewayAttachment": "transit gateway attachment",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm ($0.10/month each)",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard ($3/month)",
}


class Unpriced(Exception):
    """The template has something this script cannot price: it must not print a figure."""


# --- The template -----------------------------------------------------------------------------------------------
@dataclass
class Synth:
    resources: dict[str, dict[str, Any]]
    outdir: Path
    assets: dict[str, Any]


def synthesize(outdir: Path) -> Synth:
    """The stack as tests/infra/conftest.py builds it: cdk.json's context, bundling skipped."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, str(ROOT))
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.config import TailorConfig, cdk_json_context
    from infra.constants import STACK_ID
    from infra.stack import TailorStack

    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    stack = TailorStack(app, STACK_ID, config=TailorConfig.from_context(app.node))
    template = Template.from_stack(stack).to_json()
    app.synth()
    assets = json.loads((outdir / f"{stack.artifact_id}.assets.json").read_text())
    return Synth(resources=template["Resources"], outdir=outdir, assets=assets)


def render(value: Any) -> str:
    """A template value as a string: Ref and GetAtt become the logical id, Join joins, Sub stays as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return str(arg)
        if fn == "Fn::GetAtt":
            return str(arg[0])
        if fn == "Fn::Join":
            return str(arg[0]).join(render(part) for part in arg[1])
        if fn == "Fn::Sub":
            return str(arg if isinstance(arg, str) else arg[0])
    raise Unpriced(f"cannot read the template value {value!r}")


def of_type(resources: Mapping[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {logical: r for logical, r in resources.items() if r["Type"] == kind}


def props(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def check_nothing_hourly(resources: Mapping[str, dict[str, Any]]) -> list[str]:
    """Assert that nothing in the template bills by the hour regardless of use; returns what was checked."""
    counts = Counter(r["Type"] for r in resources.values())
    found = [f"{what}: {counts[kind]}" for kind, what in HOURLY_TYPES.items() if counts[kind]]
    interface = [k for k, r in of_type(resources, "AWS::EC2::VPCEndpoint").items()
                 if props(r).get("VpcEndpointType", "Gateway") != "Gateway"]
    found += [f"interface VPC endpoint {k} (${INTERFACE_ENDPOINT_PER_HOUR}/h per AZ)" for k in interface]
    found += [f"API cache on stage {k}" for k, r in of_type(resources, "AWS::ApiGateway::Stage").items()
              if props(r).get("CacheClusterEnabled")]
    found += [f"provisioned capacity on table {k}" for k, r in of_type(resources, "AWS::DynamoDB::Table").items()
              if props(r).get("BillingMode") != "PAY_PER_REQUEST"]
    found += [f"Container Insights on cluster {k} (custom metrics)" for k, r in of_type(resources, "AWS::ECS::Cluster")
              .items() if any(setting.get("Name") == "containerInsights" and setting.get("Value") != "disabled"
                              for setting in props(r).get("ClusterSettings", []))]
    if found:
        raise Unpriced("the template has something billed by the hour: " + "; ".join(found))
    assert counts["AWS::EC2::NatGateway"] == 0
    return [
        "NAT gateways: 0", f"VPC endpoints: {len(of_type(resources, 'AWS::EC2::VPCEndpoint'))}, all Gateway (free)",
        "Elastic IPs, ECS services, EC2 instances, KMS keys, alarms, dashboards: 0",
        "Lambda versions/aliases (where provisioned concurrency lives): 0",
        "DynamoDB tables: all on demand", "API Gateway stage cache: off", "ECS Container Insights: off",
    ]


def unpriced_types(resources: Mapping[str, dict[str, Any]]) -> list[str]:
    return sorted({r["Type"] for r in resources.values()} - set(IDLE_BY_TYPE))


# --- The sweep's path through the state machine -------------------------------------------------------------------
@dataclass
class Sweep:
    runs_per_month: float
    rate: str
    schedule_input: dict[str, Any]
    path: list[tuple[str, dict[str, Any]]]  # (state name, state) in the order entered
    function: str  # logical id of the Lambda on the path
    handler_module: str
    memory_mb: int
    env: dict[str, str]
    sfn_log_level: str
    sfn_log_data: bool
    tracing: bool
    log_retention_days: dict[str, int]  # "state machine" / "function" -> days


def _rate_hours(expression: str) -> float:
    match = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", expression.strip())
    if match is None:
        raise Unpriced(f"schedule expression {expression!r}: only rate(...) is priced")
    unit = match.group(2).rstrip("s")
    return int(match.group(1)) * {"minute": 1 / 60, "hour": 1.0, "day": 24.0}[unit]


def _path_value(document: Mapping[str, Any], path: str) -> Any:
    if not path.startswith("$."):
        raise Unpriced(f"Choice variable {path!r}")
    value: Any = document
    for part in path[2:].split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _matches(rule: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    if "Or" in rule:
        return any(_matches(r, document) for r in rule["Or"])
    if "And" in rule:
        return all(_matches(r, document) for r in rule["And"])
    if "Not" in rule:
        return not _matches(rule["Not"], document)
    if "StringEquals" in rule:
        return bool(_path_value(document, rule["Variable"]) == rule["StringEquals"])
    raise Unpriced(f"Choice rule {sorted(rule)} is not one this script evaluates")


def walk(definition: Mapping[str, Any], document: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The states a successful execution with `document` as input enters, in order."""
    states, name = definition["States"], definition["StartAt"]
    path: list[tuple[str, dict[str, Any]]] = []
    while name is not None:
        state = states[name]
        path.append((name, state))
        if len(path) > len(states):
            raise Unpriced("the sweep's path loops")
        kind = state["Type"]
        if kind == "Choice":
            name = next((c["Next"] for c in state["Choices"] if _matches(c, document)), state.get("Default"))
            if name is None:
                raise Unpriced("no Choice branch and no Default for the sweep's input")
        elif kind in ("Succeed", "Fail"):
            name = None
        elif kind in ("Task", "Pass"):
            name = None if state.get("End") else state["Next"]
        else:
            raise Unpriced(f"state type {kind} on the sweep's path")
    return path


def read_sweep(resources: Mapping[str, dict[str, Any]]) -> Sweep:
    schedules = of_type(resources, "AWS::Scheduler::Schedule")
    machines = of_type(resources, "AWS::StepFunctions::StateMachine")
    if len(schedules) != 1 or len(machines) != 1:
        raise Unpriced(f"{len(schedules)} schedules and {len(machines)} state machines: this script prices one each")
    (schedule,) = (props(s) for s in schedules.values())
    ((machine_id, machine),) = machines.items()
    if render(schedule["Target"]["Arn"]) != machine_id:
        raise Unpriced("the schedule does not start the state machine")
    machine_props = props(machine)
    if machine_props.get("StateMachineType", "STANDARD") != "STANDARD":
        raise Unpriced("an EXPRESS state machine is billed per request and GB-s, not priced here")
    document = json.loads(schedule["Target"].get("Input", "{}"))
    definition = json.loads(render(machine_props["DefinitionString"]))
    path = walk(definition, document)
    tasks = [state for _, state in path if state["Type"] == "Task"]
    if len(tasks) != 1 or render(tasks[0]["Resource"]) not in resources:
        raise Unpriced("the sweep's path should have one Task, a Lambda function given by its ARN")
    function = render(tasks[0]["Resource"])
    fn = props(resources[function])
    if resources[function]["Type"] != "AWS::Lambda::Function" or fn.get("Architectures", ["x86_64"]) != ["x86_64"]:
        raise Unpriced("the sweep's task is not an x86_64 Lambda function")
    logging_config = machine_props.get("LoggingConfiguration") or {}
    log_groups = [render(d["CloudWatchLogsLogGroup"]["LogGroupArn"]) for d in logging_config.get("Destinations", [])]
    fn_log_group = render(fn["LoggingConfig"]["LogGroup"]) if "LoggingConfig" in fn else None

    def retention(logical: str | None) -> int:
        if logical is None or logical not in resources:
            raise Unpriced("a log group the sweep writes to is not in the template (its retention is unknown)")
        days = props(resources[logical]).get("RetentionInDays")
        if days is None:
            raise Unpriced(f"log group {logical} keeps logs forever: storage would grow without bound")
        return int(days)

    env: dict[str, str] = {}
    for key, value in ((fn.get("Environment") or {}).get("Variables") or {}).items():
        text = render(value)
        kind = resources[text]["Type"] if text in resources else ""
        env[key] = text.lower() if kind == "AWS::S3::Bucket" else ACCOUNT if text == "AWS::AccountId" else text
    return Sweep(
        runs_per_month=HOURS_PER_MONTH / _rate_hours(schedule["ScheduleExpression"]),
        rate=schedule["ScheduleExpression"], schedule_input=document, path=path, function=function,
        handler_module=fn["Handler"].rsplit(".", 1)[0], memory_mb=int(fn.get("MemorySize", 128)), env=env,
        sfn_log_level=logging_config.get("Level", "OFF"), sfn_log_data=bool(logging_config.get("IncludeExecutionData")),
        tracing=bool((machine_props.get("TracingConfiguration") or {}).get("Enabled")),
        log_retention_days={"state machine": retention(log_groups[0] if log_groups else None),
                            "function": retention(fn_log_group)},
    )  # fmt: skip


def sfn_log_events(sweep: Sweep, handler_output: str) -> list[dict[str, Any]]:
    """The execution's CloudWatch Logs records at level ALL with execution data (the documented record shape), with
    ARNs of the length a deployment's have."""
    stack = "Tailor"
    suffix = "AbCdEfGhIjKl"  # CloudFormation appends 12 characters to generated names
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:WorkflowsJobs9FAB9940-{suffix}"
    execution = machine.replace(":stateMachine:", ":execution:") + ":0f8e1c2a-7d3b-4e59-9a6c-2b1d3e4f5a6b"
    role = f"arn:aws:iam::{ACCOUNT}:role/{stack}-WorkflowsJobsRole806C545F-{suffix}"
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-{sweep.function}-{suffix}"
    document = json.dumps(sweep.schedule_input, separators=(",", ":"))
    data = sweep.sfn_log_data

    def payload(key: str, text: str) -> dict[str, Any]:
        return {key: text if data else "", f"{key}Details": {"truncated": False}}

    details: list[tuple[str, dict[str, Any]]] = [("ExecutionStarted", {**payload("input", document), "roleArn": role})]
    for name, state in sweep.path:
        kind = state["Type"]
        details.append((f"{kind}StateEntered", {**payload("input", document), "name": name}))
        if kind == "Task":
            details += [("LambdaFunctionScheduled", {**payload("input", document), "resource": function}),
                        ("LambdaFunctionStarted", {}),
                        ("LambdaFunctionSucceeded", payload("output", handler_output))]
        if kind != "Fail":
            details.append((f"{kind}StateExited", {"name": name, **payload("output", document)}))
    details.append(("ExecutionSucceeded", payload("output", document)))
    stamp = str(int(time.time() * 1000))
    return [{"id": str(i), "type": kind, "details": body, "previous_event_id": str(i - 1),
             "event_timestamp": stamp, "execution_arn": execution, "redrive_count": "0"}
            for i, (kind, body) in enumerate(details, start=1)]  # fmt: skip


def lambda_platform_lines(init_ms: float, duration_ms: float, memory_mb: int, used_mb: int) -> list[str]:
    """What the Lambda service itself writes for a cold invocation (text log format)."""
    request = "3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"
    billed = math.ceil(init_ms + duration_ms)
    return [
        f"INIT_START Runtime Version: python:3.12.v80\tRuntime Version ARN: arn:aws:lambda:{REGION}::runtime:"
        + "0" * 64,
        f"START RequestId: {request} Version: $LATEST",
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms\tMemory Size: "
        f"{memory_mb} MB\tMax Memory Used: {used_mb} MB\tInit Duration: {init_ms:.2f} ms\t",
    ]


# --- Measurements -------------------------------------------------------------------------------------------------
def layer_requirements() -> list[str]:
    from infra import bundling

    return bundling.locked_requirements()


def _layer_pycache_paths(prefix: Path, requirements: list[str]) -> Iterator[Path]:
    """Where PYTHONPYCACHEPREFIX mirrors the bytecode of the layer's packages and of Tailor's code."""
    from importlib import metadata

    yield prefix / (LAMBDAS / "tailor").relative_to("/")
    for name in (r.split("==")[0] for r in requirements):
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if str(f).endswith(".py")} - {".."}
        for top in tops:
            mirrored = prefix / Path(str(dist.locate_file(top))).relative_to("/")
            if top.endswith(".py"):
                yield from mirrored.parent.glob(f"{top[:-3]}.*.pyc")
            else:
                yield mirrored


def measure_cold_import(module: str, requirements: list[str], samples: int) -> dict[str, float]:
    """Fresh interpreters importing `module`: wall time from start to exit, and the import alone, median of
    `samples`. 'lambda': the standard library and every package have bytecode except those of `requirements`, and
    Tailor's code has none (the function asset ships sources only and /var/task is read-only,
    so every cold start compiles it); 'bytecode': everything has it. Each case reads its own bytecode cache
    (PYTHONPYCACHEPREFIX), so neither depends on what __pycache__ directories this checkout has."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPATH"] = str(LAMBDAS)
    snippet = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as everything, tempfile.TemporaryDirectory() as runtime_only:
        # Every module's bytecode into one cache; a copy without Tailor's (and `requirements`').
        subprocess.run([sys.executable, "-c", f"import {module}"], env={**env, "PYTHONPYCACHEPREFIX": everything},
                       check=True)
        shutil.copytree(everything, runtime_only, dirs_exist_ok=True)
        removed = 0
        for path in _layer_pycache_paths(Path(runtime_only), requirements):
            if path.is_dir():
                removed += sum(1 for _ in path.rglob("*.pyc"))
                shutil.rmtree(path)
            elif path.exists():
                removed += 1
                path.unlink()
        if not removed:
            raise RuntimeError("no bytecode of Tailor's code was found to remove: the measurement would lie")
        for label, prefix in (("bytecode", everything), ("lambda", runtime_only)):
            command_env = {**env, "PYTHONPYCACHEPREFIX": prefix}
            walls, imports = [], []
            for _ in range(samples):
                start = time.perf_counter()
                out = subprocess.run([sys.executable, "-B", "-c", snippet], env=command_env, check=True,
                                     capture_output=True, text=True).stdout
                walls.append(time.perf_counter() - start)
                imports.append(float(out.strip().splitlines()[-1]))
            result[f"{label}_wall_ms"] = statistics.median(walls) * 1000
            result[f"{label}_import_ms"] = statistics.median(imports) * 1000
        result["compiled_files"] = float(removed)
    return result


@dataclass
class LambdaContext:
    """What Powertools reads from a Lambda context object."""

    function_name: str = "tailor-workflow"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tailor-workflow"
    aws_request_id: str = "3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"


def sweep_worker(spec: Mapping[str, Any]) -> dict[str, Any]:
    """In a fresh process: the handler's first invocation (the service built from the environment, as in a cold
    Lambda) and then warm ones, on moto with `solutions` ACTIVE solutions none of which is due."""
    import importlib
    import logging
    import resource

    env = dict(spec["env"])
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                       "AWS_REGION": REGION, **env})  # fmt: skip
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    sys.path.insert(0, str(LAMBDAS))
    handler_module = importlib.import_module(spec["module"])
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from tailor import config
    from tailor.adapters.dynamodb import ensure_tables
    from tailor.adapters.env import build_service
    from tailor.handlers import common as handler_common
    from tailor.ports import Resource

    calls: list[tuple[str, str, int]] = []
    counting = False
    client_class: Any = BaseClient
    original = client_class._make_api_call

    def counted(client: Any, operation: str, params: Any) -> Any:
        response = original(client, operation, params)
        if counting:
            body = response.get("Items", response.get("Item", {}))
            calls.append((client.meta.service_model.service_name, operation, len(json.dumps(body, default=str))))
        return response

    client_class._make_api_call = counted
    log = io.StringIO()
    for handler in logging.getLogger("tailor").handlers + logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log)

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        ensure_tables(session.client("dynamodb"), env[config.ENV_RESOURCES_TABLE], env[config.ENV_EVENTS_TABLE])
        session.client("s3").create_bucket(Bucket=env[config.ENV_ARTIFACTS_BUCKET])
        seeding = build_service(env, session=session)
        now = time.time()
        group = f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/idle"
        for i in range(int(spec["solutions"])):
            arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/idle-{i}"
            seeding.store.create(Resource(arn, "solution", {
                "name": f"idle-{i}", "solutionArn": arn, "datasetGroupArn": group, "status": "ACTIVE",
                "recipeArn": "arn:aws:personalize:::recipe/aws-user-personalization", "performAutoTraining": True,
                "solutionConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(7 days)"}},
                "creationDateTime": now - 30 * 86400, "lastUpdatedDateTime": now - 30 * 86400}, parent=group))
            seeding.store.create(Resource(f"{arn}/v1", "solution-version", {
                "solutionVersionArn": f"{arn}/v1", "solutionArn": arn, "status": "ACTIVE", "trainingMode": "AUTOTRAIN",
                "creationDateTime": now - 86400, "lastUpdatedDateTime": now - 86400}, parent=arn))  # fmt: skip
        handler_common.use_service(None)  # the first call builds it from the environment, as a cold Lambda does

        results: list[dict[str, Any]] = []
        for _ in range(1 + int(spec["warm"])):
            calls.clear()
            log.seek(0)
            log.truncate()
            captured = io.StringIO()
            counting = True
            old_stdout, sys.stdout = sys.stdout, captured
            start = time.perf_counter()
            try:
                output = handler_module.lambda_handler(dict(spec["input"]), LambdaContext())
            finally:
                elapsed = time.perf_counter() - start
                sys.stdout = old_stdout
                counting = False
            results.append({"ms": elapsed * 1000, "calls": list(calls), "output": json.dumps(output),
                            "log_lines": (log.getvalue() + captured.getvalue()).splitlines()})
        versions = seeding.store.list("solution-version", None, 1000, None).items
        if len(versions) != int(spec["solutions"]):
            raise RuntimeError(f"the sweep started {len(versions) - int(spec['solutions'])} versions: none was due")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"first": results[0], "warm": results[1:], "max_rss_mb": rss_mb}


def measure_sweeps(sweep: Sweep, solutions: int, processes: int, warm: int) -> dict[str, Any]:
    spec = {"env": sweep.env, "module": sweep.handler_module, "input": sweep.schedule_input, "solutions": solutions,
            "warm": warm}
    runs = []
    for _ in range(processes):
        out = subprocess.run([sys.executable, __file__, "--sweep-worker", json.dumps(spec)], check=True,
                             capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(LAMBDAS)}).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    first = [r["first"] for r in runs]
    warm_ms = [w["ms"] for r in runs for w in r["warm"]]
    reads = [sum(1 for service, op, _ in f["calls"] if service == "dynamodb") for f in first]
    read_units = [sum(max(1, math.ceil(size / 4096)) for service, op, size in f["calls"]
                      if service == "dynamodb" and op in ("Query", "GetItem", "Scan", "BatchGetItem")) for f in first]
    writes = [sum(1 for service, op, _ in f["calls"]
                  if service == "dynamodb" and op in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"))
              for f in first]  # fmt: skip
    other = sorted({f"{s}:{op}" for f in first for s, op, _ in f["calls"] if s != "dynamodb"})
    return {
        "first_ms": statistics.median(f["ms"] for f in first),
        "warm_ms": statistics.median(warm_ms) if warm_ms else float("nan"),
        "requests": statistics.median(len(f["calls"]) for f in first),
        "dynamodb_requests": statistics.median(reads), "read_units": statistics.median(read_units),
        "write_requests": statistics.median(writes), "other_requests": other,
        "operations": dict(Counter(f"{s}:{op}" for s, op, _ in first[0]["calls"])),
        "log_bytes": statistics.median(sum(len(line.encode()) + 1 for line in f["log_lines"]) for f in first),
        "log_lines": statistics.median(len(f["log_lines"]) for f in first),
        "output": first[0]["output"], "max_rss_mb": max(r["max_rss_mb"] for r in runs),
    }  # fmt: skip


# --- Sizes at rest ----------------------------------------------------------------------------------------------
_WHEEL = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")


def _wheel_fits(filename: str) -> bool:
    """A wheel pip would install for CPython 3.12 on manylinux x86_64."""
    match = _WHEEL.match(filename)
    if match is None:
        return False
    py, plat = match.group("py").split("."), match.group("plat").split(".")
    platform_ok = plat == ["any"] or any("manylinux" in p and p.endswith("x86_64") for p in plat)
    python_ok = any(p in ("py3", "cp312") for p in py) or (match.group("abi") == "abi3" and any(
        p.startswith("cp3") and int(p[3:]) <= 12 for p in py))  # fmt: skip
    return platform_ok and python_ok


def wheel_bytes(requirements: list[str]) -> dict[str, int]:
    """Compressed size of each pinned package's wheel for the Lambda/image platform, from uv.lock."""
    with (ROOT / "uv.lock").open("rb") as handle:
        entries = {(e["name"], e.get("version")): e for e in tomllib.load(handle)["package"]}
    sizes: dict[str, int] = {}
    for requirement in requirements:
        name, version = requirement.split("==")
        entry = entries.get((name, version))
        if entry is None:
            raise Unpriced(f"{requirement} is not in uv.lock")
        fits = [w for w in entry.get("wheels", []) if _wheel_fits(w["url"].rsplit("/", 1)[-1])]
        if not fits or "size" not in fits[0]:
            raise Unpriced(f"uv.lock has no sized cp312 manylinux x86_64 wheel for {requirement}")
        sizes[requirement] = int(fits[0]["size"])
    return sizes


def zipped_bytes(directory: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory))
    return buffer.tell()


def bootstrap_bucket_bytes(synth: Synth, layer_zip: int) -> dict[str, int]:
    """What the deployment keeps in the CDK bootstrap bucket: every file asset, zipped as CDK would."""
    layers = {render(props(r)["Content"]["S3Key"])
              for r in of_type(synth.resources, "AWS::Lambda::LayerVersion").values()}
    sizes: dict[str, int] = {}
    for asset in synth.assets.get("files", {}).values():
        key = next(iter(asset["destinations"].values()))["objectKey"]
        source = Path(asset["source"]["path"])
        if key in layers:
            sizes[f"{asset['displayName']} (uv.lock wheels)"] = layer_zip
        elif asset["source"].get("packaging") == "zip":
            sizes[asset["displayName"]] = zipped_bytes(synth.outdir / source)
        else:
            sizes[asset["displayName"]] = (synth.outdir / source).stat().st_size
    return sizes


# --- The bill ---------------------------------------------------------------------------------------------------
@dataclass
class Line:
    item: str
    quantity: float
    unit: str
    price: float  # per unit
    basis: str
    free_pool: str | None = None

    @property
    def monthly(self) -> float:
        return self.quantity * self.price


def with_free_tiers(lines: list[Line]) -> float:
    left = dict(FREE_TIERS)
    total = 0.0
    for line in lines:
        free = min(left.get(line.free_pool or "", 0.0), line.quantity)
        if line.free_pool:
            left[line.free_pool] -= free
        total += (line.quantity - free) * line.price
    return total


def money(value: float) -> str:
    return f"{value:,.2f}" if value >= 1 or value == 0 else f"{value:.4f}"


def quantity(value: float, unit: str) -> str:
    if unit.startswith("GB"):
        return f"{value:.4g} {unit}"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.1f} {unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="replace this section of BENCHMARKS.md")
    parser.add_argument("--samples", type=int, default=7, help="fresh processes per cold-start measurement")
    parser.add_argument("--sweep-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_worker:
        result = sweep_worker(json.loads(args.sweep_worker))
        print(json.dumps(result, default=str), file=sys.__stdout__)
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as outdir:
        synth = synthesize(Path(outdir))
        resources = synth.resources
        missing = unpriced_types(resources)
        if missing:
            print("resource types this script does not price (add them to IDLE_BY_TYPE):", *missing, sep="\n  ",
                  file=sys.stderr)
            return 2
        checks = check_nothing_hourly(resources)
        sweep = read_sweep(resources)
        requirements = layer_requirements()
        layer_zip = sum(wheel_bytes(requirements).values())
        bucket = bootstrap_bucket_bytes(synth, layer_zip)
        images = synth.assets.get("dockerImages", {})
        code_zip = zipped_bytes(LAMBDAS / "tailor")

    training_reqs = [line.strip() for line in (LAMBDAS / "training" / "requirements.txt").read_text().splitlines()
                     if line.strip() and not line.startswith("#")]
    training_wheels = sum(wheel_bytes(training_reqs).values())
    image_mb = BASE_IMAGE_MB + (training_wheels + code_zip) / 1e6

    # The layer ships its packages' bytecode (infra.bundling.compile_layer): only Tailor's code compiles when cold.
    cold = measure_cold_import(sweep.handler_module, [], args.samples)
    empty = measure_sweeps(sweep, 0, args.samples, warm=5)
    seeded = measure_sweeps(sweep, SEEDED_SOLUTIONS, max(3, args.samples // 2), warm=5)

    def lambda_ms(measured: Mapping[str, Any]) -> tuple[float, float]:
        allowance = max(MIN_ALLOWANCE_MS, MOTO_ALLOWANCE_MS_PER_REQUEST * float(measured["requests"]))
        return cold["lambda_wall_ms"] + float(measured["first_ms"]) + allowance, allowance

    billed_ms, allowance_ms = lambda_ms(empty)
    billed_seeded_ms, _ = lambda_ms(seeded)
    gb = sweep.memory_mb / 1024
    runs = sweep.runs_per_month
    transitions = len(sweep.path)
    events = sfn_log_events(sweep, empty["output"]) if sweep.sfn_log_level == "ALL" else []
    sfn_bytes = sum(len(json.dumps(e, separators=(",", ":"))) + LOG_EVENT_OVERHEAD_BYTES for e in events)
    platform = lambda_platform_lines(cold["lambda_wall_ms"], billed_ms - cold["lambda_wall_ms"], sweep.memory_mb,
                                     int(empty["max_rss_mb"]))
    fn_log_bytes = sum(len(line) + LOG_EVENT_OVERHEAD_BYTES for line in platform) + empty["log_bytes"] + (
        LOG_EVENT_OVERHEAD_BYTES * empty["log_lines"])  # fmt: skip
    retention = max(sweep.log_retention_days.values()) / (365 / 12)
    logs_gb = runs * (sfn_bytes + fn_log_bytes) / 1e9
    bucket_gb = sum(bucket.values()) / 1e9
    path_names = " → ".join(f"{name} ({state['Type']})" for name, state in sweep.path)

    lines = [
        Line(f"EventBridge Scheduler: `{sweep.rate}` invocations", runs, "invocations", SCHEDULER_PER_INVOCATION,
             "template", "scheduler"),
        Line(f"Step Functions standard: {transitions} state transitions a sweep ({path_names})", runs * transitions,
             "transitions", SFN_PER_TRANSITION, "template", "sfn"),
        Line("Lambda requests (workflow function)", runs, "requests", LAMBDA_PER_REQUEST, "template",
             "lambda-requests"),
        Line(f"Lambda duration: {sweep.memory_mb} MB x {billed_ms:,.0f} ms (cold start {cold['lambda_wall_ms']:,.0f} "
             f"+ first sweep {empty['first_ms']:,.0f} + {allowance_ms:.0f} allowed for DynamoDB)",
             runs * gb * math.ceil(billed_ms) / 1000, "GB-s", LAMBDA_GB_SECOND, "measured", "lambda-gb-s"),
        Line(f"DynamoDB: {empty['dynamodb_requests']:.0f} read request(s) a sweep, ≤ {empty['read_units']:.0f} RRU",
             runs * float(empty["read_units"]), "RRU", DYNAMODB_PER_READ_UNIT, "measured"),
        Line(f"CloudWatch Logs ingestion, state machine (level {sweep.sfn_log_level}, {len(events)} events, "
             f"{sfn_bytes:,} B a sweep)", runs * sfn_bytes / 1e9, "GB", LOGS_PER_GB_INGESTED, "modeled", "logs-gb"),
        Line(f"CloudWatch Logs ingestion, workflow Lambda ({len(platform)} platform lines + "
             f"{empty['log_lines']:.0f} handler lines, {fn_log_bytes:,.0f} B a sweep)", runs * fn_log_bytes / 1e9, "GB",
             LOGS_PER_GB_INGESTED, "measured + modeled", "logs-gb"),
        Line(f"CloudWatch Logs storage ({max(sweep.log_retention_days.values())}-day retention, uncompressed)",
             logs_gb * retention, "GB-month", LOGS_PER_GB_MONTH_STORED, "derived", "logs-gb"),
        Line("X-Ray: one trace a sweep (tracing on the state machine)", runs if sweep.tracing else 0.0, "traces",
             XRAY_PER_TRACE, "template", "xray"),
        Line(f"ECR: training image (python:3.12-slim ~{BASE_IMAGE_MB:.0f} MB + {len(training_reqs)} wheels "
             f"{training_wheels / 1e6:.0f} MB + code {code_zip / 1e6:.1f} MB)", image_mb / 1000 * len(images),
             "GB-month", ECR_PER_GB_MONTH, "estimated"),
        Line(f"S3, CDK bootstrap bucket: layer zip {layer_zip / 1e6:.0f} MB, code and template "
             f"{(sum(bucket.values()) - layer_zip) / 1e6:.1f} MB", bucket_gb, "GB-month", S3_PER_GB_MONTH,
             "measured/uv.lock"),
        Line(f"DynamoDB storage and PITR: {len(of_type(resources, 'AWS::DynamoDB::Table'))} empty tables", 0.0,
             "GB-month", DYNAMODB_PER_GB_MONTH + DYNAMODB_PITR_PER_GB_MONTH, "empty", "dynamodb-storage-gb"),
        Line(f"S3 buckets of the stack: {len(of_type(resources, 'AWS::S3::Bucket'))}, empty", 0.0, "GB-month",
             S3_PER_GB_MONTH, "empty"),
    ]
    total = sum(line.monthly for line in lines)
    total_free = with_free_tiers(lines)
    seeded_extra = runs * (gb * (math.ceil(billed_seeded_ms) - math.ceil(billed_ms)) / 1000 * LAMBDA_GB_SECOND
                           + (float(seeded["read_units"]) - float(empty["read_units"])) * DYNAMODB_PER_READ_UNIT)

    counts = Counter(r["Type"] for r in resources.values())
    by_reason: dict[tuple[str, str], list[str]] = {}
    for kind in sorted(counts, key=lambda k: (-counts[k], k)):
        by_reason.setdefault(IDLE_BY_TYPE[kind], []).append(f"{kind.removeprefix('AWS::')} x{counts[kind]}")
    type_rows = [[", ".join(kinds), cost, why] for (cost, why), kinds in by_reason.items()]

    personalize_1 = PERSONALIZE_MIN_TPS * HOURS_PER_MONTH * PERSONALIZE_PER_TPS_HOUR
    artifact = EXAMPLE_ARTIFACT_GB * S3_PER_GB_MONTH
    compare = []
    for campaigns in (1, 3):
        peer = campaigns * personalize_1
        ours = total + campaigns * artifact
        compare.append([str(campaigns), money(peer), money(ours), f"**{peer / ours:,.0f}x**", f"{peer / total:,.0f}x"])

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from report import machine, table, write_section

    def para(*parts: str) -> list[str]:
        return ["", textwrap.fill("".join(parts), 120, break_on_hyphens=False)]

    def bullet(*parts: str) -> str:
        return textwrap.fill("".join(parts), 120, initial_indent="* ", subsequent_indent="  ", break_on_hyphens=False)

    date = datetime.date.today().isoformat()
    ratio = personalize_1 / (total + artifact)
    out = [f"## {SECTION}", "", f"Measured {date} on {machine()}:", "", "```", "uv run python benchmarks/idle_cost.py",
           "```"]
    out += para(
        "What one deployment bills in a month (730 h) with no traffic at all. The template is the real stack, "
        f"synthesized ({len(resources)} resources of {len(counts)} types); every type has an idle price in the script "
        "(the last table), and one without makes it exit non-zero. Nothing in it bills by the hour: ",
        "; ".join(checks), ". What bills is the automatic-training sweep, a schedule that starts the jobs state "
        f"machine `{sweep.rate}` ({runs:,.0f} times a month), and storage at rest.")
    out += table(
        ["what bills with no traffic", "a month", "$/month", "basis"],
        [[line.item, quantity(line.quantity, line.unit), money(line.monthly), line.basis] for line in lines]
        + [["**total**", "", f"**{money(total)}**", ""],
           ["with the always-free tiers (Lambda, Step Functions, Scheduler, X-Ray, Logs 5 GB, DynamoDB 25 GB)", "",
            money(total_free), ""]])
    out += para(
        f"**Peer**: Amazon Personalize bills a campaign's minimum {PERSONALIZE_MIN_TPS} TPS every hour, serving or "
        f"not: {PERSONALIZE_MIN_TPS} x {HOURS_PER_MONTH:.0f} h x ${PERSONALIZE_PER_TPS_HOUR:.2f} per TPS-hour = "
        f"${personalize_1:.2f} a month per campaign (seeds/003; under 20,000 TPS-hours a month the first tier "
        "applies). A Tailor campaign adds only its model artifact in S3, here the Serving section's EASE model for "
        f"100,000 items ({EXAMPLE_ARTIFACT_GB * 1024:,.0f} MiB, ${artifact:.4f} a month).")
    out += table(["campaigns", "Personalize $/month", "Tailor $/month (deployment + artifacts)",
                  "Personalize / Tailor", "against the empty deployment"], compare)
    out += para(
        f"Idle, one campaign costs {ratio:,.0f}x more on Personalize than a whole Tailor deployment serving it "
        f"(${money(total + artifact)} a month; ${money(total_free + artifact)} within the always-free tiers).")
    out += ["", "How the figures were obtained:", ""]
    out += [
        bullet(
            f"**Measured**: the cold start, {cold['lambda_wall_ms']:,.0f} ms: a fresh Python {sys.version.split()[0]} "
            f"(Lambda runs 3.12) importing `{sweep.handler_module}`, start to exit, median of {args.samples}, with "
            f"bytecode for the standard library and the layer's packages (compiled when the layer is bundled) but not "
            f"for Tailor's code ({cold['compiled_files']:.0f} modules compiled at every cold start, since the function "
            f"asset ships sources only and Lambda's file systems are read-only; with bytecode it is "
            f"{cold['bytecode_wall_ms']:,.0f} ms). An "
            f"hourly function is always cold, and Lambda bills the INIT phase since 2025-08-01. Then the first sweep "
            f"of that process on moto (`mock_aws`, tables from `ensure_tables`): the service built from the function's "
            f"environment as in the template, {empty['first_ms']:,.0f} ms for an empty deployment (warm sweeps "
            f"{empty['warm_ms']:,.1f} ms), its requests ({', '.join(sorted(empty['operations'])) or 'none'}) and what "
            f"the handler logs ({empty['log_bytes']:,.0f} bytes). moto answers in-process, faster than DynamoDB: "
            f"{MOTO_ALLOWANCE_MS_PER_REQUEST:.0f} ms is allowed per request, at least {MIN_ALLOWANCE_MS:.0f} ms."),
        bullet(
            f"With {SEEDED_SOLUTIONS} ACTIVE solutions, none due, a sweep makes {seeded['dynamodb_requests']:.0f} "
            f"DynamoDB requests; its first run takes {seeded['first_ms']:,.0f} ms (warm {seeded['warm_ms']:,.1f} ms): "
            f"+${seeded_extra:.4f} a month."),
        bullet(
            "**From the template**: the schedule's rate and input, the path that input takes through the state "
            f"machine's definition ({path_names}: {transitions} transitions; if AWS also counts the execution's start, "
            f"add ${runs * SFN_PER_TRANSITION:.4f}), the function on it and its memory, the log level and tracing, "
            "the log groups' retention."),
        bullet(
            "**Modeled**: the state machine's log records at level ALL with execution data (the documented record "
            "shape with this sweep's input and the handler's measured output, ARNs at deployed length) and the "
            f"Lambda's INIT_START/START/END/REPORT lines; {LOG_EVENT_OVERHEAD_BYTES} bytes metered per log event; "
            "logs stored for their retention, uncompressed (an upper bound)."),
        bullet(
            f"**Estimated**: the python:3.12-slim base layer ({BASE_IMAGE_MB:.0f} MB compressed); the image's wheels "
            "and the layer zip are the sizes uv.lock records for the cp312 manylinux x86_64 wheels (the bytecode pip "
            "compiles into the image is not counted); the code assets are zipped here from the synthesized assembly."),
        bullet(
            "**Prices**, us-east-1 list: aws.amazon.com/lambda/pricing/ ($0.0000166667/GB-s x86, $0.20/M requests), "
            "/step-functions/pricing/ ($0.025/1,000 transitions), /eventbridge/pricing/ (Scheduler $1.00/M), "
            "/cloudwatch/pricing/ (Logs $0.50/GB ingested, $0.03/GB-month), /xray/pricing/ ($5.00/M traces), "
            "/ecr/pricing/ ($0.10/GB-month), /s3/pricing/ ($0.023/GB-month), /dynamodb/pricing/on-demand/ "
            "($0.125/M reads), /personalize/pricing/. The always-free tiers (Lambda 1M requests and 400,000 GB-s, "
            "Step Functions 4,000 transitions, Scheduler 14M invocations, X-Ray 100,000 traces, Logs 5 GB) cover "
            "everything but storage and the DynamoDB reads."),
        bullet(
            "**Not counted**: training, imports and other jobs (work a deployment does when asked), and the old assets "
            "redeploys leave in the bootstrap bucket and ECR repository (CDK never deletes them; `cdk gc` does)."),
    ]
    out += ["", "Every resource type in the template and what it bills with no traffic:"]
    out += table(["resource types (count)", "idle", "why"], type_rows)
    out += ["", f"The whole run took {time.perf_counter() - started:.0f} s."]
    section = "\n".join(out) + "\n"
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", SECTION)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Unpriced as err:
        print(f"cannot price the deployment: {err}", file=sys.stderr)
        sys.exit(2)
