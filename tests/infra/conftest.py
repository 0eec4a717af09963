"""One synthesized TailorStack per test session: jsii start-up and synthesis cost seconds, the assertions do not."""

from __future__ import annotations

import os

# Before the first aws_cdk import starts the jsii kernel: node 20 otherwise prints an end-of-life banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataclasses import dataclass

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.config import TailorConfig, cdk_json_context
from infra.constants import STACK_ID
from infra.stack import TailorStack


@dataclass(frozen=True)
class Synthesized:
    stack: TailorStack
    template: Template
    outdir: str


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # cdk.json's context (feature flags included), as `cdk synth` sees it; bundling skipped, so no pip/uv runs.
    outdir = str(tmp_path_factory.mktemp("cdk.out"))
    app = App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []}, outdir=outdir)
    stack = TailorStack(app, STACK_ID, config=TailorConfig.from_context(app.node))
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)


@pytest.fixture(scope="session")
def synthesized_assembly(synthesized: Synthesized) -> str:
    """The cloud assembly directory: the template file, the asset manifest and the staged assets."""
    return synthesized.outdir


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def stack(synthesized: Synthesized) -> TailorStack:
    """The stack after synthesis (aspects and lazy policies resolved), for cdk-nag and annotations."""
    return synthesized.stack
