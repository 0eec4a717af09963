"""The training image (lambdas/training/Dockerfile) installs what uv.lock pins, runs the container entrypoint on the
Lambdas' Python, lets its user write the volumes the task definition mounts, and its code imports nothing the image
lacks. No Docker needed: the files are read, not built."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path, PurePosixPath

import pytest
from aws_cdk.assertions import Template

from infra import bundling, training_image
from infra.training_image import declared_volumes, image_user, instructions, writable_dirs
from tailor import config
from tests.infra.template import only as only_resource

# What the container runs: its entry module and the code of every job the state machine sends to Fargate.
CONTAINER_MODULES = ("tailor.handlers.container", "tailor.adapters.env", "tailor.jobs", "tailor.imports",
                     "tailor.training.entrypoint", "tailor.training.recipes", "tailor.batch", "tailor.data_jobs",
                     "tailor.recommender_jobs")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned() -> list[str]:
    lines = training_image.REQUIREMENTS.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def only(keyword: str) -> str:
    values = [rest for kw, rest in instructions() if kw == keyword]
    assert len(values) == 1, f"{keyword}: {values}"
    return values[0]


def env_vars() -> dict[str, str]:
    found = {}
    for keyword, rest in instructions():
        if keyword == "ENV":
            found.update(pair.split("=", 1) for pair in rest.split())
    return found


def test_requirements_are_the_lock_pins_so_a_lock_bump_must_regenerate_them() -> None:
    assert pinned() == training_image.training_requirements()
    assert training_image.REQUIREMENTS.read_text() == training_image.requirements_text(pinned())


def test_the_image_has_the_sdk_and_trains_with_the_layers_numpy_and_scipy() -> None:
    versions = dict(line.split("==") for line in pinned())
    assert {"numpy", "scipy", "boto3", "botocore", "s3transfer", "aws-lambda-powertools"} <= set(versions)
    assert all(re.fullmatch(r"\d[\w.]*", v) for v in versions.values())  # exact versions, no ranges
    # Models are written here and read by the runtime Lambda, service models too: both use the same pins.
    assert set(bundling.locked_requirements()) == set(pinned())


def test_dockerfile_base_image_is_the_lambda_runtimes_python() -> None:
    image = only("FROM").split()[0]
    repository, _, tag = image.rpartition(":")
    assert repository.startswith("public.ecr.aws/") and repository.endswith("/python")
    assert tag.split("-")[0] == bundling.PYTHON_VERSION


def test_dockerfile_installs_the_pins_and_runs_the_container_entrypoint_as_a_non_root_user() -> None:
    # COPY sources are relative to the build context, lambdas/: the generated pins and the tailor package.
    copies = {training_image.BUILD_CONTEXT / src: dest for src, dest in
              (rest.split() for kw, rest in instructions() if kw == "COPY")}
    requirements_in_image = copies[training_image.REQUIREMENTS]
    assert any(kw == "RUN" and "pip install" in rest and f"-r {requirements_in_image}" in rest
               for kw, rest in instructions())
    package = importlib.util.find_spec("tailor")
    assert package is not None and package.origin is not None
    package_in_image = PurePosixPath(copies[Path(package.origin).parent])
    assert package_in_image.name == "tailor"
    assert str(package_in_image.parent) in env_vars()["PYTHONPATH"].split(":")  # `python -m tailor...` finds it

    entrypoint = json.loads(only("ENTRYPOINT"))  # exec form: python is PID 1 and gets ECS's SIGTERM
    assert entrypoint[:2] == ["python", "-m"]
    module = entrypoint[2]
    assert module == "tailor.handlers.container"
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    assert "def main(" in Path(spec.origin).read_text()

    assert image_user()[0] != 0
    assert env_vars().get("PYTHONUNBUFFERED") == "1"  # log lines reach CloudWatch as they are written


def _mounted_paths(template: Template) -> list[str]:
    _, task_definition = only_resource(template, "AWS::ECS::TaskDefinition")
    return [mount["ContainerPath"] for container in task_definition["Properties"]["ContainerDefinitions"]
            for mount in container.get("MountPoints", [])]


def test_every_path_the_task_mounts_is_an_image_volume_its_user_can_write(template: Template) -> None:
    # Fargate mounts a task volume root-owned 0755 unless the image declares a VOLUME there (then it takes the
    # image's ownership and mode): the non-root job user on a read-only root could not write it otherwise.
    mounted = _mounted_paths(template)

    assert "/tmp" in mounted  # jobs spool artifacts there
    for path in mounted:
        assert path in declared_volumes(), path
        assert path in writable_dirs(), path


@pytest.mark.parametrize(
    ("dockerfile", "writable"),
    [
        ('RUN chmod 1777 /tmp\nVOLUME ["/tmp"]\nUSER 10001:10001\n', {"/tmp"}),
        ("RUN mkdir /scratch && chown -R 10001:10001 /scratch\nVOLUME /scratch\nUSER 10001:10001\n", {"/scratch"}),
        # Docker discards a change made after the VOLUME
        ('VOLUME ["/tmp"]\nRUN chmod 1777 /tmp\nUSER 10001:10001\n', set()),
        # root's 0755, or the user's own directory without the owner's write bit
        ("RUN chown 0:0 /tmp; chmod 0755 /tmp\nVOLUME /tmp\nUSER 10001:10001\n", set()),
        ("RUN chown 10001 /tmp && chmod 0555 /tmp\nVOLUME /tmp\nUSER 10001:10001\n", set()),
        # Symbolic modes are not read: such a path counts as not writable rather than guessed
        ("RUN chmod a+w /tmp\nVOLUME /tmp\nUSER 10001:10001\n", set()),
    ],
)
def test_dockerfile_readers_see_what_the_user_may_write(tmp_path: Path, dockerfile: str, writable: set[str]) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM scratch\n" + dockerfile)

    assert image_user(path) == (10001, 10001)
    assert writable_dirs(path) == writable


def test_container_code_imports_only_what_the_image_installs() -> None:
    provided = {_normal(r.split("==")[0]) for r in pinned()}
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
            raise ImportError(f"{{name}} is not installed in the training image")
        return None
sys.meta_path.insert(0, Block())
for module in {CONTAINER_MODULES!r}:
    importlib.import_module(module)
from tailor import jobs
missing = sorted(set({sorted(config.CONTAINER_JOBS)!r}) - set(jobs.JOBS))
assert not missing, missing
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
