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

ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = ROOT / "cdk.json"

_REMOVAL_POLICIES = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}
_ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}
# Valid both as an API Gateway stage name and inside the stack name "tailor-<stage>".
_STAGE_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class TailorConfig:
    """What a deployment may choose; everything else is fixed by the design."""

    stage: str = "dev"
    removal_policy: str = "retain"
    deletion_protection: bool = True
    lambda_memory_mb: int = 1024
    workflow_memory_mb: int = 2048
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
        for name, memory in (("lambdaMemoryMb", self.lambda_memory_mb), ("workflowMemoryMb", self.workflow_memory_mb)):
            if not 128 <= memory <= 10240:
                raise ValueError(f"{name} {memory}: Lambda memory is 128-10240 MB")
        if self.api_rate_limit < 1 or self.api_burst_limit < 1:
            raise ValueError("apiThrottleRateLimit and apiThrottleBurstLimit must be positive")

    @classmethod
    def from_context(cls, node: Node) -> TailorConfig:
        """Reads the context keys; values given with `cdk -c key=value` arrive as strings and are parsed."""
        removal_policy = _text(node, "removalPolicy", cls.removal_policy).lower()
        return cls(
            stage=_text(node, "stage", cls.stage),
            removal_policy=removal_policy,
            # Protection follows the removal policy unless set: a "destroy" stack must be deletable.
            deletion_protection=_flag(node, "deletionProtection", removal_policy == "retain"),
            lambda_memory_mb=_number(node, "lambdaMemoryMb", cls.lambda_memory_mb),
            workflow_memory_mb=_number(node, "workflowMemoryMb", cls.workflow_memory_mb),
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
