"""Contract-test fixtures: stock boto3 clients against Tailor in-process (the project's own pytest plugin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tailor.testing import TailorFixture
from tests.samples import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, USERS_SCHEMA, interactions_csv

TERMINAL = ("ACTIVE", "CREATE FAILED")


@pytest.fixture
def personalize(tailor: TailorFixture) -> Any:
    return tailor.client("personalize")


@pytest.fixture
def s3(tailor: TailorFixture) -> Any:
    client = tailor.client("s3")
    client.create_bucket(Bucket="user-data")
    return client


@pytest.fixture
def group(personalize: Any, tailor: TailorFixture) -> str:
    """An ACTIVE custom dataset group."""
    arn = personalize.create_dataset_group(name="walkthrough")["datasetGroupArn"]
    tailor.wait()
    return str(arn)


@pytest.fixture
def make_dataset(personalize: Any, tailor: TailorFixture, group: str) -> Callable[[str], str]:
    """Create an ACTIVE dataset of a type (with the sample schema) in `group`."""
    schemas = {"INTERACTIONS": INTERACTIONS_SCHEMA, "ITEMS": ITEMS_SCHEMA, "USERS": USERS_SCHEMA}

    def make(dataset_type: str) -> str:
        schema = personalize.create_schema(name=f"{dataset_type.lower()}-schema", schema=schemas[dataset_type])
        arn = personalize.create_dataset(
            name=f"{dataset_type.lower()}-ds", schemaArn=schema["schemaArn"], datasetGroupArn=group,
            datasetType=dataset_type,
        )["datasetArn"]
        tailor.wait()
        return str(arn)

    return make


def import_and_wait(personalize: Any, tailor: TailorFixture, dataset_arn: str, location: str, name: str,
                    mode: str = "FULL") -> dict[str, Any]:
    arn = personalize.create_dataset_import_job(
        jobName=name, datasetArn=dataset_arn, dataSource={"dataLocation": location},
        roleArn="arn:aws:iam::123456789012:role/PersonalizeS3", importMode=mode,
    )["datasetImportJobArn"]
    tailor.wait()
    job: dict[str, Any] = personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]
    return job


USER_PERSONALIZATION = "arn:aws:personalize:::recipe/aws-user-personalization"
POPULARITY = "arn:aws:personalize:::recipe/aws-popularity-count"


@pytest.fixture
def trained_group(personalize: Any, tailor: TailorFixture, s3: Any, group: str,
                  make_dataset: Callable[[str], str]) -> str:
    """A group whose interactions meet Personalize's minimum (1,200 events, 60 users)."""
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=interactions_csv(n_users=60, per_user=20, n_items=40).encode())
    assert import_and_wait(personalize, tailor, dataset, "s3://user-data/i.csv", "load")["status"] == "ACTIVE"
    return group


def make_solution(personalize: Any, tailor: TailorFixture, group: str, name: str = "sol",
                  recipe: str | None = USER_PERSONALIZATION, **kwargs: Any) -> str:
    if recipe:
        kwargs["recipeArn"] = recipe
    arn = personalize.create_solution(name=name, datasetGroupArn=group, **kwargs)["solutionArn"]
    tailor.wait()
    return str(arn)


def train(personalize: Any, tailor: TailorFixture, solution: str, **kwargs: Any) -> dict[str, Any]:
    arn = personalize.create_solution_version(solutionArn=solution, **kwargs)["solutionVersionArn"]
    tailor.wait()
    version: dict[str, Any] = personalize.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
    return version
