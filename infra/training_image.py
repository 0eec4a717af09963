"""The training image (lambdas/training/Dockerfile, build context lambdas/): what it installs comes from uv.lock.

    uv run python -m infra.training_image      rewrites lambdas/training/requirements.txt (after `uv lock`)

The image runs on Fargate, not in Lambda, so it installs boto3 and botocore itself (the layer leaves them out).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_CONTEXT = ROOT / "lambdas"
DOCKERFILE = BUILD_CONTEXT / "training" / "Dockerfile"
REQUIREMENTS = BUILD_CONTEXT / "training" / "requirements.txt"
# What the container imports beyond the standard library: the layer's packages plus the AWS SDK.
TRAINING_PACKAGES = ("aws-lambda-powertools", "numpy", "scipy", "boto3")
HEADER = """\
# The training image's packages and all their dependencies, pinned from uv.lock.
# Roots: {roots}.
# Generated, do not edit: after `uv lock`, regenerate with `uv run python -m infra.training_image`
# (tests/infra/test_training_image.py fails while this file and uv.lock disagree).
"""


def training_requirements(lock_path: Path | None = None) -> list[str]:
    """`name==version` for TRAINING_PACKAGES and their dependencies, boto3's included, as pinned in uv.lock."""
    from infra import bundling  # loads aws_cdk; only when the lock is read

    return bundling.locked_requirements(lock_path or bundling.UV_LOCK, roots=TRAINING_PACKAGES, exclude=frozenset())


def requirements_text(requirements: list[str]) -> str:
    return HEADER.format(roots=", ".join(TRAINING_PACKAGES)) + "".join(f"{line}\n" for line in requirements)


def write_training_requirements(path: Path = REQUIREMENTS) -> Path:
    path.write_text(requirements_text(training_requirements()))
    return path


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as tests/infra/conftest.py
    print(f"wrote {write_training_requirements().relative_to(ROOT)}")
