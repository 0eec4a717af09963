"""A flow written the way AWS's sample notebooks are: pandas DataFrames saved with `to_csv(path)`, every call made
straight after the one before (no waiting for ACTIVE where a notebook does not wait), status loops that poll Describe,
and a cleanup that deletes each resource and polls Describe until ResourceNotFoundException. Stock boto3 clients
only; nothing here reaches into Tailor to wait for jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.contract.test_walkthrough import wait_status

POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 120.0


def wait_until_gone(describe: Callable[[], Any], not_found: type[Exception]) -> list[str]:
    """A notebook's cleanup loop: describe until ResourceNotFoundException; the statuses it saw on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            seen.append(describe()["status"])
        except not_found:
            return seen
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"never deleted; last seen {seen[-1:]}")


@pytest.fixture
def frames(tmp_path):
    """Interactions and items as a notebook prepares them with pandas, written with `df.to_csv(path)`: an index
    column first, the columns in the DataFrame's order (not the schema's), a column the schema does not have."""
    import pandas as pd

    rng = np.random.default_rng(7)
    n_users, n_items = 100, 40  # Personalize's minimum: 1,000 interactions
    rows = []
    for user in range(n_users):
        liked = rng.choice(n_items, size=12, replace=False)
        for k, item in enumerate(liked):
            rows.append({"USER_ID": f"user{user}", "ITEM_ID": f"item{item}", "TIMESTAMP": 1_700_000_000 + 3600 * k,
                         "EVENT_TYPE": "watch", "RATING": int(rng.integers(1, 6))})
    interactions = pd.DataFrame(rows)[["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "RATING"]]
    interactions.to_csv(tmp_path / "interactions.csv")
    items = pd.DataFrame({"ITEM_ID": [f"item{i}" for i in range(n_items)],
                          "GENRE": ["Comedy" if i % 2 else "Drama" for i in range(n_items)]})
    items.to_csv(tmp_path / "items.csv")
    return tmp_path / "interactions.csv", tmp_path / "items.csv"


def test_a_notebook_runs_as_written(tailor, frames, monkeypatch):
    monkeypatch.setattr(tailor.embedded.service, "deletion_linger_seconds", 0.3)
    tailor.client("s3").create_bucket(Bucket="notebook-data")
    run_notebook(tailor.client, frames, "notebook-data")


def run_notebook(client: Callable[[str], Any], frames: tuple[Path, Path], bucket: str) -> None:
    personalize = client("personalize")
    runtime = client("personalize-runtime")
    events = client("personalize-events")
    s3 = client("s3")
    iam = client("iam")
    not_found = personalize.exceptions.ResourceNotFoundException

    # Set-up cells: a role for Personalize, the files uploaded
    interactions_path, items_path = frames
    s3.upload_file(str(interactions_path), bucket, "interactions.csv")
    s3.upload_file(str(items_path), bucket, "items.csv")
    role = iam.create_role(RoleName="PersonalizeRole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "personalize.amazonaws.com"}}]}))["Role"]

    # Data cells, back to back: group, schemas, datasets, imports (the import right after its dataset)
    group = personalize.create_dataset_group(name="notebook")["datasetGroupArn"]
    interactions_schema = personalize.create_schema(name="notebook-interactions", schema=json.dumps({
        "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
        "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                   {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"}]}))["schemaArn"]
    items_schema = personalize.create_schema(name="notebook-items", schema=json.dumps({
        "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
        "fields": [{"name": "ITEM_ID", "type": "string"},
                   {"name": "GENRE", "type": "string", "categorical": True}]}))["schemaArn"]
    datasets, imports = {}, {}
    for kind, schema, key in (("INTERACTIONS", interactions_schema, "interactions.csv"),
                              ("ITEMS", items_schema, "items.csv")):
        datasets[kind] = personalize.create_dataset(name=f"notebook-{kind.lower()}", datasetType=kind,
                                                    datasetGroupArn=group, schemaArn=schema)["datasetArn"]
        imports[kind] = personalize.create_dataset_import_job(
            jobName=f"notebook-{kind.lower()}-import", datasetArn=datasets[kind], roleArn=role["Arn"],
            dataSource={"dataLocation": f"s3://{bucket}/{key}"})["datasetImportJobArn"]
    for job in imports.values():
        status = wait_status(lambda job=job: personalize.describe_dataset_import_job(
            datasetImportJobArn=job)["datasetImportJob"]["status"], TIMEOUT_SECONDS)
        assert status == "ACTIVE", personalize.describe_dataset_import_job(datasetImportJobArn=job)
    tracker = personalize.create_event_tracker(name="notebook-tracker", datasetGroupArn=group)

    # Training cells: the version is asked for in the same cell as its solution
    solution = personalize.create_solution(name="notebook-solution", datasetGroupArn=group,
                                           recipeArn="arn:aws:personalize:::recipe/aws-user-personalization")
    version = personalize.create_solution_version(solutionArn=solution["solutionArn"])["solutionVersionArn"]
    assert wait_status(lambda: personalize.describe_solution_version(solutionVersionArn=version)[
        "solutionVersion"]["status"], TIMEOUT_SECONDS) == "ACTIVE"
    metrics = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert "precision_at_10" in metrics
    campaign = personalize.create_campaign(name="notebook-campaign", solutionVersionArn=version,
                                           minProvisionedTPS=1)["campaignArn"]
    assert wait_status(lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]["status"]) == "ACTIVE"
    drama = personalize.create_filter(name="notebook-drama", datasetGroupArn=group,
                                      filterExpression='INCLUDE ItemID WHERE Items.GENRE IN ("Drama")')["filterArn"]
    assert wait_status(lambda: personalize.describe_filter(filterArn=drama)["filter"]["status"]) == "ACTIVE"

    # Using it: recommendations, a filter, events streamed in
    listed = runtime.get_recommendations(campaignArn=campaign, userId="user3", numResults=10)["itemList"]
    assert len(listed) == 10
    dramas = runtime.get_recommendations(campaignArn=campaign, userId="user3", numResults=10, filterArn=drama)
    assert dramas["itemList"] and all(int(i["itemId"].removeprefix("item")) % 2 == 0 for i in dramas["itemList"])
    events.put_events(trackingId=tracker["trackingId"], userId="new-user", sessionId="s1", eventList=[
        {"eventType": "watch", "itemId": "item5", "sentAt": 1_700_100_000}])
    assert len(runtime.get_recommendations(campaignArn=campaign, userId="new-user")["itemList"]) > 0

    # Clean-up cells: delete each thing and poll until it is gone, in the order Personalize requires
    cleanup: list[tuple[Callable[[], Any], Callable[[], Any]]] = [
        (lambda: personalize.delete_campaign(campaignArn=campaign),
         lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]),
        (lambda: personalize.delete_filter(filterArn=drama),
         lambda: personalize.describe_filter(filterArn=drama)["filter"]),
        (lambda: personalize.delete_solution(solutionArn=solution["solutionArn"]),
         lambda: personalize.describe_solution(solutionArn=solution["solutionArn"])["solution"]),
        (lambda: personalize.delete_event_tracker(eventTrackerArn=tracker["eventTrackerArn"]),
         lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"]),
        *[(lambda arn=arn: personalize.delete_dataset(datasetArn=arn),
           lambda arn=arn: personalize.describe_dataset(datasetArn=arn)["dataset"]) for arn in datasets.values()],
    ]
    for delete, describe in cleanup:
        delete()
        wait_until_gone(describe, not_found)
    for schema in (interactions_schema, items_schema):
        personalize.delete_schema(schemaArn=schema)
    personalize.delete_dataset_group(datasetGroupArn=group)
    seen = wait_until_gone(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"],
                           not_found)
    assert seen and set(seen) <= {"DELETE PENDING", "DELETE IN_PROGRESS"}  # seen being deleted, then gone
    assert personalize.list_dataset_groups()["datasetGroups"] == []
