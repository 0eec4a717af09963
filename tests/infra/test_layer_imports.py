"""The Lambda code imports only what the dependencies layer and the Python runtime provide, not what only a developer
machine has (a missing package would be an ImportError, a 500, in AWS but pass every local test)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import packages_distributions

from infra import bundling

# What runs in Lambda: the handlers, the jobs they run, and the registry CreateSolution reads.
ENTRY_MODULES = ("tailor.handlers.control_plane", "tailor.handlers.runtime", "tailor.handlers.events",
                 "tailor.handlers.workflows", "tailor.jobs",
                 "tailor.training.entrypoint", "tailor.training.recipes")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_lambda_code_imports_only_the_layer_and_the_runtime() -> None:
    runtime = bundling.locked_requirements(roots=bundling.RUNTIME_PROVIDED, exclude=frozenset())  # boto3 and its deps
    provided = {_normal(r.split("==")[0]) for r in [*bundling.locked_requirements(), *runtime]}
    blocked = sorted(
        module for module, dists in packages_distributions().items()
        if module != "tailor" and not {_normal(d) for d in dists} & provided
    )
    assert "moto" in blocked  # the check is meaningful: dev-only packages are blocked
    script = f"""
import importlib, importlib.abc, sys
BLOCKED = set({blocked!r})
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not in the Lambda layer or runtime")
        return None
sys.meta_path.insert(0, Block())
for module in {ENTRY_MODULES!r}:
    importlib.import_module(module)
from tailor.training.recipes import RECIPES
assert RECIPES
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
