"""The Lambda dependencies layer, bundled here with uv or pip from manylinux wheels: synth needs no Docker.

The layer ships its own boto3, botocore and s3transfer (the uv.lock pins) rather than the Lambda runtime's: the
protocol package serves botocore's service models as the API contract, and the runtime bundles a botocore of AWS's
choosing that moves on its own schedule. Layers come before the runtime's packages on the Lambda Python sys.path.

Measured (x86_64 wheels of this lock, tests/ and __pycache__/ stripped, sum of file sizes): the layer was 151.7 MB
without the SDK (scipy and scipy.libs 98 MB, numpy and numpy.libs 50 MB, powertools 3.5 MB) and is 175.1 MB with it
(botocore 20.9 MB, 19.2 MB of which are the service models in botocore/data; boto3 1 MB; s3transfer, urllib3 and
dateutil under 0.5 MB each), and 198.1 MB with its bytecode (compile_layer); the function code adds under 1 MB.
Lambda allows 250 MiB unzipped for a function and its layers (LAMBDA_UNZIPPED_LIMIT), so botocore/data ships whole.
tests/infra/test_layer_imports.py bundles the layer and checks the sum.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.config import ROOT

UV_LOCK = ROOT / "uv.lock"
# The Lambda runtime and the wheels in the layer must agree (cp312).
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"
# A Python of that version to compile the layer's bytecode with, when none is found on its own.
LAYER_PYTHON_ENV = "TAILOR_LAYER_PYTHON"
# What the Lambdas import beyond the standard library; versions come from uv.lock. scipy is there because the
# control plane reads the recipe registry (CreateSolution) and the workflow function can train small datasets; boto3
# (with botocore and s3transfer) because its service models are the API's contract and must be the tested ones.
LAYER_PACKAGES = ("aws-lambda-powertools", "boto3", "numpy", "scipy")
# Lambda's limit on a function's code and layers together, unzipped (262,144,000 bytes):
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Directory names dropped from the layer: test suites and bytecode for another interpreter.
STRIPPED_DIRS = frozenset({"tests", "__pycache__"})
# Lambda architecture → (uv --python-platform, pip --platform tags, docker platform).
_PLATFORMS = {
    "x86_64": ("x86_64-manylinux_2_28", ("manylinux_2_28_x86_64", "manylinux2014_x86_64"), "linux/amd64"),
    "arm64": ("aarch64-manylinux_2_28", ("manylinux_2_28_aarch64", "manylinux2014_aarch64"), "linux/arm64"),
}


def locked_requirements(lock_path: Path = UV_LOCK, roots: Iterable[str] = LAYER_PACKAGES) -> list[str]:
    """`name==version` for roots and everything they depend on, as pinned in uv.lock.

    Markers are ignored (a dependency that only some platforms need is installed anyway), which is harmless for
    the small pure-Python trees these roots have.
    """
    with lock_path.open("rb") as handle:
        entries = tomllib.load(handle)["package"]
    versions: dict[str, set[str]] = {}
    dependencies: dict[str, set[str]] = {}
    for entry in entries:
        name = entry["name"]
        versions.setdefault(name, set()).add(entry.get("version", ""))
        dependencies.setdefault(name, set()).update(dep["name"] for dep in entry.get("dependencies", []))
    pending = list(roots)
    pins: dict[str, str] = {}
    while pending:
        name = pending.pop()
        if name in pins:
            continue
        if name not in versions:
            raise ValueError(f"{name} is not in {lock_path.name}; add it to pyproject.toml and run `uv lock`")
        if len(versions[name]) != 1:
            raise ValueError(f"{lock_path.name} pins {name} at {sorted(versions[name])}; the layer needs one")
        (pins[name],) = versions[name]
        pending.extend(sorted(dependencies[name]))
    return sorted(f"{name}=={version}" for name, version in pins.items())


def uv_command(target: Path, requirements: Sequence[str], architecture: str) -> list[str] | None:
    """`uv pip install` for the Lambda platform, or None without uv (`uv run` exports UV; else PATH)."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        return None
    platform, _, _ = _PLATFORMS[architecture]
    return [
        uv, "pip", "install", "--quiet", "--target", str(target), "--python-platform", platform,
        "--python-version", PYTHON_VERSION, "--only-binary", ":all:", "--no-deps", *requirements,
    ]  # fmt: skip


def pip_command(target: Path, requirements: Sequence[str], architecture: str) -> list[str] | None:
    """`python -m pip install` for the Lambda platform, or None when this interpreter has no pip."""
    if importlib.util.find_spec("pip") is None:
        return None
    _, tags, _ = _PLATFORMS[architecture]
    # Both tags: with only one, older pips silently settle for an older numpy.
    platforms = [flag for tag in tags for flag in ("--platform", tag)]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), *platforms,
        "--implementation", "cp", "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--no-deps",
        *requirements,
    ]  # fmt: skip


def strip_layer(target: Path) -> None:
    """Drops test suites, caches and console scripts, which the Lambdas never load."""
    for path in sorted(target.rglob("*"), reverse=True):
        if path.is_dir() and path.name in STRIPPED_DIRS:
            shutil.rmtree(path)
    shutil.rmtree(target / "bin", ignore_errors=True)


@jsii.implements(ILocalBundling)
class LocalLayerBundling:
    """Installs the pinned wheels into <output>/python (the layer's sys.path entry) without Docker."""

    def __init__(self, requirements: Sequence[str], architecture: str) -> None:
        self.requirements = tuple(requirements)
        self.architecture = architecture

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        target = Path(output_dir) / "python"
        command = uv_command(target, self.requirements, self.architecture) or pip_command(
            target, self.requirements, self.architecture
        )
        if command is None:
            return False  # CDK then falls back to the Docker command of the same BundlingOptions
        subprocess.run(command, check=True)
        strip_layer(target)
        compile_layer(target)
        return True


def bytecode_python() -> str | None:
    """A Python of the Lambda runtime's version (PYTHON_VERSION), to compile the layer's bytecode with:
    TAILOR_LAYER_PYTHON, else python3.12 on PATH, one uv finds, or a pyenv install; each is asked its version."""
    candidates = [os.environ.get(LAYER_PYTHON_ENV), shutil.which(f"python{PYTHON_VERSION}")]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", PYTHON_VERSION], capture_output=True, text=True, check=False,
                               env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += [str(path) for path in sorted(pyenv.glob(f"versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"))]
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == PYTHON_VERSION:
            return candidate
    return None


def compile_layer(target: Path) -> bool:
    """Writes the layer's bytecode, so a cold start does not compile botocore, numpy, ... (about a second; Lambda's
    file systems are read-only, so nothing compiled at run time is kept). unchecked-hash: the zip does not keep the
    sources' mtimes that timestamp-checked bytecode would compare. Without a Python of the runtime's version the layer
    ships without bytecode, and says so."""
    python = bytecode_python()
    if python is None:
        print(f"tailor: no Python {PYTHON_VERSION} found (set {LAYER_PYTHON_ENV}): the layer ships without bytecode "
              "and each cold start compiles what it imports", file=sys.stderr)
        return False
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(target)],
                   check=True)
    return True


def dependencies_layer_code(architecture: str) -> lambda_.Code:
    """The layer's code asset; its hash is that of the pinned requirements, so an unchanged lock is not rebuilt."""
    requirements = locked_requirements()
    _, _, docker_platform = _PLATFORMS[architecture]
    fingerprint = json.dumps(
        {
            "requirements": requirements,
            "python": PYTHON_VERSION,
            "architecture": architecture,
            "stripped": sorted(STRIPPED_DIRS),
            "bytecode": "unchecked-hash",
        },
        sort_keys=True,
    )
    docker_script = (
        f"pip install --quiet --only-binary=:all: --no-deps --target /asset-output/python {' '.join(requirements)}"
        " && find /asset-output/python -depth -type d \\( -name tests -o -name __pycache__ \\) -exec rm -rf {} +"
        " && rm -rf /asset-output/python/bin"
        " && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /asset-output/python"
    )
    return lambda_.Code.from_asset(
        # The source directory is only mounted by the Docker fallback; the inputs are the pins above.
        str(ROOT / "infra"),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=hashlib.sha256(fingerprint.encode()).hexdigest(),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            command=["bash", "-c", docker_script],
            platform=docker_platform,
            local=LocalLayerBundling(requirements, architecture),
        ),
    )
