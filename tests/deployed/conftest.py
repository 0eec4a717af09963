"""The deployed-topology tier: the stories run through the stack the synthesized template describes (tests/deployed/
harness.py), not through the local launcher. Its `tailor` fixture replaces the plugin's for the tests in this folder,
so a contract story imported here runs unchanged against the deployed topology."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import training_image
from tailor import testing
from tailor.testing import PERSONALIZE_SERVICES, TailorFixture
from tests.conftest import synthesize
from tests.contract.conftest import (  # noqa: F401 (fixtures the imported stories use)
    group,
    import_and_wait,
    make_dataset,
    personalize,
    s3,
    trained_group,
)
from tests.deployed import fargate
from tests.deployed.harness import DeployedTailor
from tests.samples import INTERACTIONS_SCHEMA, interactions_csv

IN_PROCESS_ENV = {f"AWS_ENDPOINT_URL_{s.upper().replace('-', '_')}": testing.IN_PROCESS_ENDPOINT
                  for s in PERSONALIZE_SERVICES}
# A task volume the image declares takes the image's ownership and mode: writable by the job user or root's 0755.
WRITABLE_VOLUME = (0, 0, 0o1777)


# The users' own buckets the contract stories read and write (their `s3` fixture's "user-data", attribution reports),
# and one whose objects are encrypted with a customer-managed KMS key: the deployer names them in cdk.json.
KMS_BUCKET = "user-kms-data"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DATA_LOCATIONS = ["s3://user-data/", "s3://reports/", {"location": f"s3://{KMS_BUCKET}/", "kmsKeyArn": KMS_KEY}]


@pytest.fixture(scope="session")
def deployed_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack as `cdk deploy -c dataLocations=...` would create it for the stories' buckets."""
    synthesized = synthesize(str(tmp_path_factory.mktemp("deployed.cdk.out")), dataLocations=DATA_LOCATIONS)
    template: dict[str, Any] = synthesized.template.to_json()
    return template


def image_from_dockerfile(dockerfile: Path = training_image.DOCKERFILE) -> fargate.Image:
    """The training image's user, environment and declared volumes, as the task will run it."""
    uid, gid = training_image.image_user(dockerfile)
    writable = training_image.writable_dirs(dockerfile)
    volumes = {path: WRITABLE_VOLUME if path in writable else fargate.UNDECLARED_VOLUME
               for path in training_image.declared_volumes(dockerfile)}
    environment: dict[str, str] = {}
    for keyword, arguments in training_image.instructions(dockerfile):
        if keyword == "ENV":
            for assignment in shlex.split(arguments):
                name, _, value = assignment.partition("=")
                environment[name] = value
    environment.pop("PYTHONPATH", None)  # the image's code location; the tier runs the checkout's
    return fargate.Image(uid=uid, gid=gid, volumes=volumes, environment=environment)


@pytest.fixture(scope="session")
def image() -> fargate.Image:
    return image_from_dockerfile()


@pytest.fixture
def deploy(deployed_template: dict[str, Any], image: fargate.Image, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., DeployedTailor]]:
    """deploy(template=None, image=None, **options) → a running DeployedTailor, answering the in-process host."""
    missing = fargate.available()
    if missing:
        pytest.skip(f"the deployed-topology tier {missing}")
    for key, value in IN_PROCESS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    started: list[DeployedTailor] = []

    def start(template: dict[str, Any] | None = None, task_image: fargate.Image | None = None,
              **options: Any) -> DeployedTailor:
        options.setdefault("bucket_keys", {KMS_BUCKET: KMS_KEY})
        tier = DeployedTailor(template or deployed_template, tmp_path / f"tier{len(started)}", task_image or image,
                              **options)
        started.append(tier)
        testing.serve_in_process(tier)
        return tier

    yield start
    testing.stop_in_process()
    for tier in started[:-1]:
        tier.stop()
    errors = [error for tier in started for error in tier.interpreter_errors()]
    assert errors == [], "the tier could not interpret the state machine"
    overran = [line for tier in started for line in tier.overran]
    assert overran == [], "invocations ran past their function's timeout"


class DeployedFixture(TailorFixture):
    """The `tailor` fixture's interface over the deployed topology."""

    def __init__(self, tier: DeployedTailor) -> None:
        self.embedded = tier  # type: ignore[assignment]
        self.deployed = tier
        self.region = tier.region

    def wait(self, timeout: float = 300.0) -> None:
        if not self.deployed.wait_idle(timeout):
            raise TimeoutError(f"executions still running after {timeout}s")

    def run_automatic_training(self, after_seconds: float = 0.0) -> list[str]:
        """The hourly schedule fires as if `after_seconds` had passed; the versions it started, once trained."""
        before = set(self._versions())
        self.deployed.start_schedules(shift=after_seconds)
        self.wait()
        return sorted(set(self._versions()) - before)

    def _versions(self) -> list[str]:
        store, found, cursor = self.deployed.service.store, [], None
        while True:
            page = store.list("solution-version", None, 100, cursor)
            found += [r.arn for r in page.items]
            cursor = page.cursor
            if cursor is None:
                return found


def loaded_group(tailor: DeployedFixture, n_users: int, per_user: int) -> tuple[Any, str, dict[str, Any]]:
    """(personalize client, dataset group, its interactions import job), set up through `tailor`: for tiers of a changed
    template, where the contract fixtures (which use the default tier) do not apply."""
    client, storage = tailor.client("personalize"), tailor.client("s3")
    storage.create_bucket(Bucket="user-data")
    storage.put_object(Bucket="user-data", Key="i.csv",
                       Body=interactions_csv(n_users=n_users, per_user=per_user).encode())
    dataset_group = client.create_dataset_group(name="g")["datasetGroupArn"]
    tailor.wait()
    schema = client.create_schema(name="s", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    dataset = client.create_dataset(name="d", schemaArn=schema, datasetGroupArn=dataset_group,
                                    datasetType="INTERACTIONS")["datasetArn"]
    tailor.wait()
    return client, dataset_group, import_and_wait(client, tailor, dataset, "s3://user-data/i.csv", "load")


@pytest.fixture
def deployed(deploy: Callable[..., DeployedTailor]) -> DeployedTailor:
    return deploy()


@pytest.fixture
def tailor(deployed: DeployedTailor) -> DeployedFixture:
    return DeployedFixture(deployed)
