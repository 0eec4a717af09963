"""The Lambda code imports only what the dependencies layer provides, not what only a developer machine has (a missing
package would be an ImportError, a 500, in AWS but pass every local test); the layer carries the botocore these tests
run with, and fits in Lambda's size limit."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import botocore
import pytest

from infra import bundling

# What runs in Lambda: the handlers, the jobs they run, and the registry CreateSolution reads.
ENTRY_MODULES = ("tailor.handlers.control_plane", "tailor.handlers.runtime", "tailor.handlers.events",
                 "tailor.handlers.workflows", "tailor.jobs",
                 "tailor.training.entrypoint", "tailor.training.recipes")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _size(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())


def test_lambda_code_imports_only_the_layer() -> None:
    # The runtime's own boto3 does not count: the layer ships the locked SDK, so the code must not need another.
    provided = {_normal(r.split("==")[0]) for r in bundling.locked_requirements()}
    blocked = sorted(
        module for module, dists in packages_distributions().items()
        if module != "tailor" and not {_normal(d) for d in dists} & provided
    )
    assert "moto" in blocked and "boto3" not in blocked  # the check is meaningful
    script = f"""
import importlib, importlib.abc, sys
BLOCKED = set({blocked!r})
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not in the Lambda layer")
        return None
sys.meta_path.insert(0, Block())
for module in {ENTRY_MODULES!r}:
    importlib.import_module(module)
from tailor.training.recipes import RECIPES
assert RECIPES
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_layer_ships_the_locked_botocore_these_tests_run_with() -> None:
    """The API's contract is botocore's service models: the deployed functions load the layer's botocore, which must
    be uv.lock's, which must be the one this suite validates requests and responses with."""
    with bundling.UV_LOCK.open("rb") as handle:
        [locked] = [entry["version"] for entry in tomllib.load(handle)["package"] if entry["name"] == "botocore"]

    assert f"botocore=={locked}" in bundling.locked_requirements()
    assert botocore.__version__ == locked


def test_bundled_layer_and_code_fit_in_lambdas_unzipped_limit(tmp_path: Path, synthesized_assembly: str) -> None:
    """Bundles the layer as `cdk synth` does (uv or pip from manylinux wheels: a few seconds with the wheels cached)."""
    requirements = bundling.locked_requirements()
    if not bundling.LocalLayerBundling(requirements, "x86_64").try_bundle(str(tmp_path)):
        pytest.skip("neither uv nor pip is available to bundle the layer")
    layer = tmp_path / "python"
    [code] = [path for path in Path(synthesized_assembly).glob("asset.*")
              if (path / "tailor" / "handlers").is_dir() and not (path / "training" / "Dockerfile").exists()]

    # The service models the protocol serves are in the layer, as imported in Lambda
    assert (layer / "botocore" / "data" / "personalize").is_dir()
    assert (layer / "boto3" / "__init__.py").is_file()
    # Bytecode for the runtime's Python, so a cold start compiles nothing, where this machine has a Python 3.12
    if bundling.bytecode_python():
        assert (layer / "botocore" / "__pycache__" / "client.cpython-312.pyc").is_file()
        assert (layer / "numpy" / "__pycache__" / "__init__.cpython-312.pyc").is_file()
    # 198.1 MB of layer with bytecode and about 1 MB of code when measured (infra/bundling.py); Lambda allows 250 MiB
    assert _size(layer) + _size(code) < bundling.LAMBDA_UNZIPPED_LIMIT
