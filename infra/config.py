"""Deployment settings: a typed, validated view of the cdk.json context (defaults here match cdk.json)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Node

from tailor.adapters.env import DATA_LOCATION

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = ROOT / "cdk.json"

_REMOVAL_POLICIES = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}
_ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
# Valid both as an API Gateway stage name and inside the stack name "tailor-<stage>".
_STAGE_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# A KMS key by its ARN (key id or multi-Region "mrk-" id); IAM matches keys by ARN only, so no aliases or bare ids.
_KMS_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z]{2,}(?:-[a-z]+)+-\d+:\d{12}:key/(?:mrk-)?[A-Za-z0-9-]+")
# The keys of one dataLocations entry written as an object.
_LOCATION_KEY, _KMS_KEY = "location", "kmsKeyArn"
# Fargate's CPU units → the memory (MiB) each allows: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
# fargate-tasks-services.html#fargate-tasks-size
_FARGATE_MEMORY = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}


@dataclass(frozen=True)
class TailorConfig:
    """What a deployment may choose; everything else is fixed by the design."""

    stage: str = "dev"
    removal_policy: str = "retain"
    deletion_protection: bool = True
    lambda_memory_mb: int = 1024
    runtime_memory_mb: int = 2048
    workflow_memory_mb: int = 2048
    # The Fargate task that runs the large jobs (tailor.config.CONTAINER_JOBS: training, batch jobs, imports, ...).
    training_cpu: int = 4096
    training_memory_mb: int = 16384
    # The longest a job may run before its execution is stopped and the resource marked CREATE FAILED.
    job_timeout_hours: int = 24
    # S3 locations (s3://bucket/prefix/) beyond the stack's own data bucket that jobs may read and write.
    data_locations: tuple[str, ...] = ()
    # The customer-managed KMS keys (ARNs) those locations' buckets encrypt with (SSE-KMS): jobs may use them.
    data_location_keys: tuple[str, ...] = ()
    lambda_architecture: str = "x86_64"
    api_rate_limit: int = 100
    api_burst_limit: int = 200
    cdk_nag: bool = True

    def __post_init__(self) -> None:
        if not _STAGE_PATTERN.match(self.stage):
            raise ValueError(f"stage {self.stage!r}: use 1-64 letters, digits or '-'")
        if self.removal_policy not in _REMOVAL_POLICIES:
            raise ValueError(f"removalPolicy {self.removal_policy!r}: expected one of {sorted(_REMOVAL_POLICIES)}")
        if self.lambda_architecture not in _ARCHITECTURES:
            raise ValueError(
                f"lambdaArchitecture {self.lambda_architecture!r}: expected one of {sorted(_ARCHITECTURES)}"
            )
        for name, memory in (("lambdaMemoryMb", self.lambda_memory_mb), ("runtimeMemoryMb", self.runtime_memory_mb),
                             ("workflowMemoryMb", self.workflow_memory_mb)):
            if not 128 <= memory <= 10240:
                raise ValueError(f"{name} {memory}: Lambda memory is 128-10240 MB")
        allowed = _FARGATE_MEMORY.get(self.training_cpu)
        if allowed is None:
            raise ValueError(f"trainingCpu {self.training_cpu}: Fargate takes one of {sorted(_FARGATE_MEMORY)}")
        if self.training_memory_mb not in allowed:
            raise ValueError(
                f"trainingMemoryMb {self.training_memory_mb}: with trainingCpu {self.training_cpu} Fargate takes "
                f"{allowed.start}-{allowed.stop - 1} MiB in steps of {allowed.step}"
            )
        if not 1 <= self.job_timeout_hours <= 24 * 7:
            raise ValueError(f"jobTimeoutHours {self.job_timeout_hours}: expected 1-168")
        for location in self.data_locations:
            if not DATA_LOCATION.fullmatch(location):
                raise ValueError(
                    f"dataLocations {location!r}: expected s3://bucket or s3://bucket/prefix/ (no wildcards)")
        for key in self.data_location_keys:
            if not _KMS_KEY_ARN.fullmatch(key):
                raise ValueError(
                    f"dataLocations {_KMS_KEY} {key!r}: expected a KMS key ARN, "
                    "arn:aws:kms:<region>:<account>:key/<key id> (not an alias)")
        if self.api_rate_limit < 1 or self.api_burst_limit < 1:
            raise ValueError("apiThrottleRateLimit and apiThrottleBurstLimit must be positive")

    @classmethod
    def from_context(cls, node: Node) -> TailorConfig:
        """Reads the context keys; values given with `cdk -c key=value` arrive as strings and are parsed."""
        removal_policy = _text(node, "removalPolicy", cls.removal_policy).lower()
        locations, keys = _data_locations(node, "dataLocations")
        return cls(
            stage=_text(node, "stage", cls.stage),
            removal_policy=removal_policy,
            # Protection follows the removal policy unless set: a "destroy" stack must be deletable.
            deletion_protection=_flag(node, "deletionProtection", removal_policy == "retain"),
            lambda_memory_mb=_number(node, "lambdaMemoryMb", cls.lambda_memory_mb),
            runtime_memory_mb=_number(node, "runtimeMemoryMb", cls.runtime_memory_mb),
            workflow_memory_mb=_number(node, "workflowMemoryMb", cls.workflow_memory_mb),
            training_cpu=_number(node, "trainingCpu", cls.training_cpu),
            training_memory_mb=_number(node, "trainingMemoryMb", cls.training_memory_mb),
            job_timeout_hours=_number(node, "jobTimeoutHours", cls.job_timeout_hours),
            data_locations=locations,
            data_location_keys=keys,
            lambda_architecture=_text(node, "lambdaArchitecture", cls.lambda_architecture).lower(),
            api_rate_limit=_number(node, "apiThrottleRateLimit", cls.api_rate_limit),
            api_burst_limit=_number(node, "apiThrottleBurstLimit", cls.api_burst_limit),
            cdk_nag=_flag(node, "cdkNag", cls.cdk_nag),
        )

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return _REMOVAL_POLICIES[self.removal_policy]

    @property
    def architecture(self) -> lambda_.Architecture:
        return _ARCHITECTURES[self.lambda_architecture]

    @property
    def s3_data_locations(self) -> list[tuple[str, str]]:
        """(bucket, key prefix) of each data location; "" is the whole bucket."""
        found = []
        for location in self.data_locations:
            match = DATA_LOCATION.fullmatch(location)
            if match:  # always: __post_init__ checked every entry
                found.append((match.group(1), match.group(2) or ""))
        return found


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json (feature flags included), for apps the CDK CLI did not start."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def app_props() -> dict[str, Any]:
    """App() arguments: none under the CLI; otherwise cdk.json's context and ./cdk.out, so that
    `python app.py` and `cdk synth` produce the same template."""
    if "CDK_OUTDIR" in os.environ or "CDK_CONTEXT_JSON" in os.environ:
        return {}
    return {"outdir": str(ROOT / "cdk.out"), "context": cdk_json_context()}


def _text(node: Node, key: str, default: str) -> str:
    value = node.try_get_context(key)
    return default if value is None else str(value)


def _number(node: Node, key: str, default: int) -> int:
    value = node.try_get_context(key)
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} {value!r}: expected an integer") from None


def _data_locations(node: Node, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(locations, KMS key ARNs) from a list in cdk.json whose entries are "s3://..." strings or
    {"location": "s3://...", "kmsKeyArn": "arn:aws:kms:..."} objects; `cdk -c key=a,b` gives a comma-separated string
    of locations, `cdk -c 'key=[...]'` the same list as JSON."""
    value = node.try_get_context(key)
    if value is None:
        return (), ()
    if isinstance(value, str):
        try:
            items = json.loads(value) if value.lstrip().startswith("[") else value.split(",")
        except json.JSONDecodeError as error:
            raise ValueError(f"{key} {value!r}: not a JSON list ({error})") from None
    else:
        items = value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{key} {value!r}: expected a list")
    locations: list[str] = []
    keys: list[str] = []
    for item in items:
        if isinstance(item, str):
            if item.strip():  # blanks between commas
                locations.append(item.strip())
            continue
        if not isinstance(item, dict) or set(item) not in ({_LOCATION_KEY}, {_LOCATION_KEY, _KMS_KEY}) or not all(
            isinstance(text, str) for text in item.values()
        ):
            raise ValueError(
                f"{key} entry {item!r}: expected \"s3://bucket/prefix/\" or "
                f'{{"{_LOCATION_KEY}": "s3://bucket/prefix/", "{_KMS_KEY}": "arn:aws:kms:..."}}')
        locations.append(item[_LOCATION_KEY].strip())
        kms_key = item.get(_KMS_KEY, "").strip()
        if kms_key and kms_key not in keys:  # one key may encrypt several locations
            keys.append(kms_key)
    return tuple(locations), tuple(keys)


def _flag(node: Node, key: str, default: bool) -> bool:
    value = node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"{key} {value!r}: expected true or false")
    return text == "true"
