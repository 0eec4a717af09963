"""The infra tests read the session's one synthesized TailorStack (tests/conftest.py: `synthesized`)."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from infra.stack import TailorStack
from tests.conftest import Synthesized


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
