"""Handler and adapter tests under moto, with a launcher that holds jobs until the test runs them."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tailor import config, jobs
from tailor.adapters.dynamodb import ensure_tables
from tailor.adapters.env import build_service
from tailor.handlers import common as handler_common
from tailor.service import Service

ENV = {
    config.ENV_RESOURCES_TABLE: "resources",
    config.ENV_EVENTS_TABLE: "events",
    config.ENV_ARTIFACTS_BUCKET: "artifacts",
    config.ENV_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:123456789012:stateMachine:jobs",
    config.ENV_REGION: "us-east-1",
    config.ENV_ACCOUNT_ID: "123456789012",
}


class HeldLauncher:
    """Records launches; the test decides when (and whether) each job runs."""

    def __init__(self) -> None:
        self.launched: list[tuple[str, str]] = []

    def launch(self, job: str, arn: str) -> None:
        self.launched.append((job, arn))

    def run_all(self, svc: Service) -> None:
        while self.launched:
            job, arn = self.launched.pop(0)
            jobs.run_and_record(svc, job, arn)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        ensure_tables(session.client("dynamodb"), ENV[config.ENV_RESOURCES_TABLE], ENV[config.ENV_EVENTS_TABLE])
        session.client("s3").create_bucket(Bucket=ENV[config.ENV_ARTIFACTS_BUCKET])
        yield session


@pytest.fixture
def launcher() -> HeldLauncher:
    return HeldLauncher()


@pytest.fixture
def svc(aws: boto3.session.Session, launcher: HeldLauncher) -> Iterator[Service]:
    service = build_service(ENV, session=aws, launcher=launcher)
    handler_common.use_service(service)
    yield service
    handler_common.use_service(None)


@pytest.fixture
def dataset(svc: Service, launcher: HeldLauncher) -> str:
    """An ACTIVE INTERACTIONS dataset (sample schema) in an ACTIVE group named "g"."""
    from tailor.operations import dataset_groups, datasets, schemas
    from tests.samples import INTERACTIONS_SCHEMA

    group = dataset_groups.create_dataset_group(svc, {"name": "g"})["datasetGroupArn"]
    launcher.run_all(svc)
    schema = schemas.create_schema(svc, {"name": "s", "schema": INTERACTIONS_SCHEMA})["schemaArn"]
    arn = datasets.create_dataset(svc, {"name": "d", "schemaArn": schema, "datasetGroupArn": group,
                                        "datasetType": "INTERACTIONS"})["datasetArn"]
    launcher.run_all(svc)
    return str(arn)


@pytest.fixture
def solution(svc: Service, launcher: HeldLauncher, aws: boto3.session.Session, dataset: str) -> str:
    """An ACTIVE aws-popularity-count solution over 1,200 imported events (enough to train)."""
    from tailor.operations import import_jobs, solutions
    from tests.samples import interactions_csv

    aws.client("s3").put_object(Bucket="artifacts", Key="in.csv",
                                Body=interactions_csv(n_users=60, per_user=20, n_items=40).encode())
    group = svc.store.get(dataset).doc["datasetGroupArn"]
    import_jobs.create_dataset_import_job(svc, {"jobName": "j", "datasetArn": dataset,
                                                "dataSource": {"dataLocation": "s3://artifacts/in.csv"}})
    launcher.run_all(svc)
    arn = solutions.create_solution(svc, {"name": "sol", "datasetGroupArn": group,
                                          "recipeArn": "arn:aws:personalize:::recipe/aws-popularity-count"})[
        "solutionArn"]
    launcher.run_all(svc)
    return str(arn)
