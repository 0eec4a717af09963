"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Before the first aws_cdk import starts the jsii kernel: node 20 otherwise prints an end-of-life banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from tests.samples import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, USERS_SCHEMA


@pytest.fixture
def sample_schemas() -> dict[str, str]:
    return {"INTERACTIONS": INTERACTIONS_SCHEMA, "ITEMS": ITEMS_SCHEMA, "USERS": USERS_SCHEMA}


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`tailor serve` as a user runs it: the console entry point in its own process, on a free port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "tailor.local.cli", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving" in line, line
        yield line.split(" at ")[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Synthesized:
    stack: Any  # infra.stack.TailorStack
    template: Any  # aws_cdk.assertions.Template
    outdir: str


def synthesize(outdir: str, **context: Any) -> Synthesized:
    """A TailorStack synthesized with cdk.json's context (feature flags included) plus `context`, as `cdk synth -c`
    would; bundling skipped, so no pip/uv runs."""
    from aws_cdk import App
    from aws_cdk.assertions import Template

    from infra.config import TailorConfig, cdk_json_context
    from infra.constants import STACK_ID
    from infra.stack import TailorStack

    app = App(context={**cdk_json_context(), **context, "aws:cdk:bundling-stacks": []}, outdir=outdir)
    stack = TailorStack(app, STACK_ID, config=TailorConfig.from_context(app.node))
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The default deployment (cdk.json as it is), synthesized once per test session: jsii start-up and synthesis
    cost seconds."""
    return synthesize(str(tmp_path_factory.mktemp("cdk.out")))
