"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

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
