"""Dataset export jobs and data deletion jobs through stock boto3 clients: what lands in S3, what an import reads back,
and a deleted user gone from the datasets, the events, the next model and the recommendations of the current one."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np
import pytest

from tailor.protocol import model
from tests.contract import test_runtime
from tests.contract.conftest import USER_PERSONALIZATION, import_and_wait, make_solution, train
from tests.samples import INTERACTIONS_SCHEMA, STORY_CLICKED, STORY_USER, interactions_csv, users_csv

story = test_runtime.story  # the runtime tests' group: the story's interactions and items, an event tracker

ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"
HEADER = ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"]


def export(personalize: Any, tailor: Any, dataset: str, name: str, mode: str | None = None,
           path: str = "s3://user-data/exports/") -> dict[str, Any]:
    kwargs = {"ingestionMode": mode} if mode else {}
    arn = personalize.create_dataset_export_job(
        jobName=name, datasetArn=dataset, roleArn=ROLE, jobOutput={"s3DataDestination": {"path": path}}, **kwargs,
    )["datasetExportJobArn"]
    tailor.wait()
    job: dict[str, Any] = personalize.describe_dataset_export_job(datasetExportJobArn=arn)["datasetExportJob"]
    return job


def read_export(s3: Any, prefix: str) -> tuple[list[str], list[list[str]]]:
    """(the object keys under the prefix, every data row of every file); each file starts with the same header."""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="user-data", Prefix=prefix).get("Contents", [])]
    rows: list[list[str]] = []
    header = None
    for key in keys:
        text = s3.get_object(Bucket="user-data", Key=key)["Body"].read().decode()
        lines = list(csv.reader(io.StringIO(text, newline="")))
        assert header in (None, lines[0])
        header = lines[0]
        rows += lines[1:]
    return keys, rows


def put_event(events: Any, tracking_id: str, user: str, item: str, sent_at: int, event_type: str = "click",
              value: float | None = None) -> None:
    entry: dict[str, Any] = {"sentAt": sent_at, "eventType": event_type, "itemId": item}
    if value is not None:
        entry["eventValue"] = value
    events.put_events(trackingId=tracking_id, userId=user, sessionId="s", eventList=[entry])


def delete_data(personalize: Any, tailor: Any, group: str, location: str, name: str) -> dict[str, Any]:
    arn = personalize.create_data_deletion_job(jobName=name, datasetGroupArn=group, roleArn=ROLE,
                                               dataSource={"dataLocation": location})["dataDeletionJobArn"]
    tailor.wait()
    job: dict[str, Any] = personalize.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    return job


@pytest.fixture
def interactions(personalize, tailor, s3, group, make_dataset) -> dict[str, str]:
    """Interactions imported in bulk (3 users, 4 events each, one EVENT_VALUE empty per user) and an event tracker."""
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=interactions_csv(n_users=3, per_user=4).encode())
    assert import_and_wait(personalize, tailor, dataset, "s3://user-data/i.csv", "bulk")["status"] == "ACTIVE"
    tracking_id = personalize.create_event_tracker(name="t", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    return {"dataset": dataset, "trackingId": tracking_id}


BULK_ROWS = [row.split(",") for row in interactions_csv(n_users=3, per_user=4).splitlines()[1:]]


# ---- export --------------------------------------------------------------------------------------------------------


def test_export_modes_pick_bulk_put_or_both(personalize, tailor, s3, interactions):
    events = tailor.client("personalize-events")
    put_event(events, interactions["trackingId"], "streamed", "i7", 1_800_000_000, value=2.5)
    put_event(events, interactions["trackingId"], "u0", "i0", 1_700_000_000, "purchase", 0.5)  # = a bulk row

    bulk = export(personalize, tailor, interactions["dataset"], "bulk-only", "BULK")
    assert bulk["status"] == "ACTIVE" and bulk["ingestionMode"] == "BULK"
    keys, rows = read_export(s3, "exports/bulk-only/")
    assert keys == ["exports/bulk-only/part-00000.csv"]
    assert rows == BULK_ROWS

    put = export(personalize, tailor, interactions["dataset"], "put-only")  # Personalize's default mode: PUT
    assert put["ingestionMode"] == "PUT"
    _, rows = read_export(s3, "exports/put-only/")
    assert sorted(rows) == [["streamed", "i7", "1800000000", "click", "2.5"], ["u0", "i0", "1700000000", "purchase",
                                                                                "0.5"]]

    export(personalize, tailor, interactions["dataset"], "both", "ALL")
    _, rows = read_export(s3, "exports/both/")
    # Every interaction, and the put event identical to a bulk row once (Personalize exports exact duplicates once).
    assert sorted(rows) == sorted([*BULK_ROWS, ["streamed", "i7", "1800000000", "click", "2.5"]])


def test_export_header_is_the_schema_and_the_files_import_back(personalize, tailor, s3, group, interactions,
                                                               monkeypatch):
    # Given an export split into several files (a small limit stands in for the million rows of a real one)
    monkeypatch.setattr("tailor.data_jobs.EXPORT_ROWS_PER_FILE", 5)
    events = tailor.client("personalize-events")
    put_event(events, interactions["trackingId"], "streamed", "i7", 1_800_000_000)  # EVENT_VALUE null
    job = export(personalize, tailor, interactions["dataset"], "all", "ALL", path="s3://user-data/exports")
    keys, rows = read_export(s3, "exports/all/")
    assert keys == [f"exports/all/part-0000{n}.csv" for n in range(3)] and len(rows) == 13
    first = s3.get_object(Bucket="user-data", Key=keys[0])["Body"].read().decode()
    assert first.splitlines()[0] == ",".join(HEADER)
    assert job["jobOutput"] == {"s3DataDestination": {"path": "s3://user-data/exports"}}

    # When the export's folder is imported into another group's dataset
    other = personalize.create_dataset_group(name="copy")["datasetGroupArn"]
    tailor.wait()
    schema = personalize.create_schema(name="copy-schema", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    copy = personalize.create_dataset(name="copy", schemaArn=schema, datasetGroupArn=other,
                                      datasetType="INTERACTIONS")["datasetArn"]
    tailor.wait()
    assert import_and_wait(personalize, tailor, copy, "s3://user-data/exports/all/", "reimport")["status"] == "ACTIVE"

    # Then it holds the same rows, nulls included: its own export is the same CSV
    export(personalize, tailor, copy, "copy-export", "BULK")
    _, copied = read_export(s3, "exports/copy-export/")
    assert sorted(copied) == sorted(rows)
    assert ["streamed", "i7", "1800000000", "click", ""] in copied


def test_items_and_users_exports_keep_one_row_per_id(personalize, tailor, s3, make_dataset):
    events = tailor.client("personalize-events")
    users = make_dataset("USERS")
    s3.put_object(Bucket="user-data", Key="users.csv", Body=users_csv(n_users=3).encode())
    assert import_and_wait(personalize, tailor, users, "s3://user-data/users.csv", "users")["status"] == "ACTIVE"
    events.put_users(datasetArn=users, users=[{"userId": "u1", "properties": json.dumps({"membership": "platinum"})}])
    export(personalize, tailor, users, "users-all", "ALL")
    _, rows = read_export(s3, "exports/users-all/")
    assert sorted(rows) == [["u0", "gold"], ["u1", "platinum"], ["u2", "basic"]]  # the put record replaces the row

    # Values that need quoting (commas, quotes, line breaks) survive an export and a re-import.
    items = make_dataset("ITEMS")
    tricky = 'Sci-Fi, "Noir"\nvol. 2'
    events.put_items(datasetArn=items, items=[
        {"itemId": "x1", "properties": json.dumps({"genre": tricky, "price": 1e-05})},
        {"itemId": "x2", "properties": json.dumps({"genre": None})}])
    export(personalize, tailor, items, "items-put", "PUT")
    _, rows = read_export(s3, "exports/items-put/")
    assert sorted(rows) == [["x1", tricky, "1e-05"], ["x2", "", ""]]
    job = import_and_wait(personalize, tailor, items, "s3://user-data/exports/items-put/", "items-back")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    export(personalize, tailor, items, "items-bulk", "BULK")
    assert sorted(read_export(s3, "exports/items-bulk/")[1]) == sorted(rows)


def test_export_input_errors_are_named(personalize, tailor, interactions):
    dataset = interactions["dataset"]
    good = {"jobName": "e", "datasetArn": dataset, "roleArn": ROLE,
            "jobOutput": {"s3DataDestination": {"path": "s3://user-data/x/"}}}
    errors = personalize.exceptions
    for path in ("https://example.com/out/", "s3://", "s3:///key", "user-data/out"):
        with pytest.raises(errors.InvalidInputException, match=r"s3DataDestination\.path"):
            personalize.create_dataset_export_job(**{**good, "jobOutput": {"s3DataDestination": {"path": path}}})
    with pytest.raises(errors.InvalidInputException, match="ingestionMode"):
        personalize.create_dataset_export_job(**good, ingestionMode="SOME")
    with pytest.raises(errors.InvalidInputException):
        personalize.create_dataset_export_job(**{**good, "jobName": "bad name!"})
    with pytest.raises(errors.ResourceNotFoundException):
        personalize.create_dataset_export_job(**{**good, "datasetArn": dataset.replace("INTERACTIONS", "ITEMS")})
    with pytest.raises(errors.ResourceNotFoundException):
        personalize.describe_dataset_export_job(
            datasetExportJobArn=dataset.replace(":dataset/", ":dataset-export-job/"))
    personalize.create_dataset_export_job(**good)
    with pytest.raises(errors.ResourceAlreadyExistsException):
        personalize.create_dataset_export_job(**good)
    tailor.wait()


def test_an_export_to_a_missing_bucket_fails_with_the_reason(personalize, tailor, interactions):
    job = export(personalize, tailor, interactions["dataset"], "nowhere", "BULK", path="s3://no-such-bucket/out/")
    assert job["status"] == "CREATE FAILED"
    assert "no-such-bucket" in job["failureReason"]


def test_export_jobs_describe_list_and_paginate(personalize, tailor, interactions):
    for n in range(3):
        export(personalize, tailor, interactions["dataset"], f"job{n}", "BULK")
    job = personalize.describe_dataset_export_job(
        datasetExportJobArn="arn:aws:personalize:us-east-1:123456789012:dataset-export-job/job1")["datasetExportJob"]
    assert job["jobName"] == "job1" and job["datasetArn"] == interactions["dataset"] and job["roleArn"] == ROLE
    assert job["status"] == "ACTIVE" and "failureReason" not in job
    assert set(job) <= set(model.shape("personalize", "DatasetExportJob").members)

    first = personalize.list_dataset_export_jobs(datasetArn=interactions["dataset"], maxResults=2)
    assert len(first["datasetExportJobs"]) == 2 and "nextToken" in first
    second = personalize.list_dataset_export_jobs(datasetArn=interactions["dataset"], maxResults=2,
                                                  nextToken=first["nextToken"])
    assert len(second["datasetExportJobs"]) == 1 and "nextToken" not in second
    summaries = first["datasetExportJobs"] + second["datasetExportJobs"]
    assert sorted(s["jobName"] for s in summaries) == ["job0", "job1", "job2"]
    assert all(set(s) <= set(model.shape("personalize", "DatasetExportJobSummary").members) for s in summaries)
    paginator = personalize.get_paginator("list_dataset_export_jobs")
    assert sum(len(p["datasetExportJobs"]) for p in paginator.paginate(PaginationConfig={"PageSize": 1})) == 3
    assert len(personalize.list_dataset_export_jobs()["datasetExportJobs"]) == 3  # no dataset: every job
    with pytest.raises(personalize.exceptions.InvalidNextTokenException):
        personalize.list_dataset_export_jobs(datasetArn=interactions["dataset"], nextToken="not-a-token")


# ---- data deletion -------------------------------------------------------------------------------------------------


def test_deleting_a_user_removes_them_everywhere(personalize, tailor, s3, story, make_dataset):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    service = tailor.embedded.service
    group, user = story["group"], STORY_USER
    interactions = service.store.get(story["items"].replace("ITEMS", "INTERACTIONS"))
    # Given the user's bulk rows, their streamed events, their Users row and PutUsers record
    users = make_dataset("USERS")
    s3.put_object(Bucket="user-data", Key="users.csv", Body=f"USER_ID,MEMBERSHIP\n{user},gold\nu1,basic\n".encode())
    assert import_and_wait(personalize, tailor, users, "s3://user-data/users.csv", "users")["status"] == "ACTIVE"
    events.put_users(datasetArn=users, users=[{"userId": user, "properties": json.dumps({"membership": "basic"})}])
    campaign = test_runtime.deploy(personalize, tailor, group, USER_PERSONALIZATION, "before",
                      itemExplorationConfig={"explorationWeight": "0"})
    for k in range(2):
        put_event(events, story["trackingId"], user, STORY_CLICKED, 1_800_000_000 + k, "Click")
    explain = {"TAILOR_EXPLAIN": "true"}

    def recommended(who: str) -> list[dict[str, Any]]:
        return list(runtime.get_recommendations(campaignArn=campaign, userId=who, numResults=10,
                                                context=explain)["itemList"])

    def reasons(items: list[dict[str, Any]]) -> list[str]:
        return [r for i in items for r in i.get("reason", [])]

    cold = [i["itemId"] for i in recommended("never-seen")]
    before = recommended(user)
    assert any(r.startswith("Recent item") for r in reasons(before)) and [i["itemId"] for i in before] != cold
    bulk_rows = interactions.internal["rows"]
    old_snapshot = interactions.internal["snapshot"]

    # When a data deletion job lists the user (and one Tailor has never seen)
    s3.put_object(Bucket="user-data", Key="forget.csv", Body=f"USER_ID\n{user}\nnobody\n{user}\n".encode())
    job = delete_data(personalize, tailor, group, "s3://user-data/forget.csv", "forget")

    # Then it completes, counting every record it removed: 15 imported interactions, 2 events, a Users row and a
    # PutUsers record
    assert job["status"] == "COMPLETED" and "failureReason" not in job
    assert job["numDeleted"] == 15 + 2 + 1 + 1
    assert set(job) <= set(model.shape("personalize", "DataDeletionJob").members)
    interactions = service.store.get(interactions.arn)
    assert interactions.internal["rows"] == bulk_rows - 15
    with pytest.raises(FileNotFoundError):  # the snapshot that held the user is gone
        service.blobs.open(old_snapshot)
    # ... no export holds the user any more
    for dataset, name in ((interactions.arn, "i-after"), (users, "u-after")):
        export(personalize, tailor, dataset, name, "ALL")
        _, rows = read_export(s3, f"exports/{name}/")
        assert rows and all(row[0] != user for row in rows)
    # ... the current model's stored history of the user is no longer used: they are a cold user now
    after = recommended(user)
    assert [i["itemId"] for i in after] == cold
    assert not any(r.startswith("Recent item") for r in reasons(after))
    # ... and the next model never saw them
    version = train(personalize, tailor, make_solution(personalize, tailor, group, name="after"))
    assert version["status"] == "ACTIVE", version.get("failureReason")
    artifact = service.store.get(version["solutionVersionArn"]).internal["artifact"]
    with service.blobs.open(artifact) as stream, np.load(io.BytesIO(stream.read()), allow_pickle=False) as npz:
        assert user not in npz["user_ids"].astype(str).tolist() and "u1" in npz["user_ids"].astype(str).tolist()

    # A user who comes back after the deletion is personalized again from their new events.
    put_event(events, story["trackingId"], user, STORY_CLICKED, 1_900_000_000, "Click")
    assert any(r.startswith(f"Recent item {STORY_CLICKED}") for r in reasons(recommended(user)))


def test_a_malformed_user_list_fails_the_job_and_deletes_nothing(personalize, tailor, s3, group, interactions):
    events = tailor.client("personalize-events")
    put_event(events, interactions["trackingId"], "u1", "i9", 1_800_000_000)
    service = tailor.embedded.service
    snapshot = service.store.get(interactions["dataset"]).internal["snapshot"]
    bodies = {
        "bad-line.csv": "USER_ID\nu1\nu2,u3\n",
        "bad-header.csv": "USER,ID\nu1\n",
        "empty-id.csv": "USER_ID\nu1\n\"\"\n",
    }
    for key, body in bodies.items():
        s3.put_object(Bucket="user-data", Key=key, Body=body.encode())
        job = delete_data(personalize, tailor, group, f"s3://user-data/{key}", key.removesuffix(".csv"))
        assert job["status"] == "FAILED" and key in job["failureReason"], job
        assert "numDeleted" not in job
    assert "line 3" in personalize.describe_data_deletion_job(
        dataDeletionJobArn=group.replace(":dataset-group/walkthrough", ":data-deletion-job/bad-line"),
    )["dataDeletionJob"]["failureReason"]
    # Nothing was deleted: the same imported data, the user's event still there
    assert service.store.get(interactions["dataset"]).internal["snapshot"] == snapshot
    assert [e.item_id for e in service.events.user_events(group, "u1", 10)] == ["i9"]


def test_a_missing_user_list_or_an_internal_error_fails_the_job(personalize, tailor, group, monkeypatch):
    job = delete_data(personalize, tailor, group, "s3://no-such-bucket/users.csv", "missing")
    assert job["status"] == "FAILED" and "no-such-bucket" in job["failureReason"]

    def broken(*args: Any) -> list[str]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("tailor.data_jobs.read_user_ids", broken)
    job = delete_data(personalize, tailor, group, "s3://user-data/users.csv", "broken")
    assert job["status"] == "FAILED" and "disk on fire" in job["failureReason"]


def test_data_deletion_jobs_input_errors_describe_and_list(personalize, tailor, s3, group, interactions):
    errors = personalize.exceptions
    good = {"jobName": "d", "datasetGroupArn": group, "roleArn": ROLE,
            "dataSource": {"dataLocation": "s3://user-data/forget.csv"}}
    for location in ("http://example.com/x.csv", "s3://", "forget.csv"):
        with pytest.raises(errors.InvalidInputException, match="dataLocation"):
            personalize.create_data_deletion_job(**{**good, "dataSource": {"dataLocation": location}})
    with pytest.raises(errors.InvalidInputException, match="dataLocation"):
        personalize.create_data_deletion_job(**{**good, "dataSource": {}})
    with pytest.raises(errors.ResourceNotFoundException):
        personalize.create_data_deletion_job(**{**good, "datasetGroupArn": group + "-gone"})

    s3.put_object(Bucket="user-data", Key="forget.csv", Body=b"USER_ID\nu0\n")
    for n in range(3):
        delete_data(personalize, tailor, group, "s3://user-data/forget.csv", f"d{n}")
    with pytest.raises(errors.ResourceAlreadyExistsException):
        personalize.create_data_deletion_job(**{**good, "jobName": "d0"})
    first = personalize.describe_data_deletion_job(
        dataDeletionJobArn="arn:aws:personalize:us-east-1:123456789012:data-deletion-job/d0")["dataDeletionJob"]
    assert first["status"] == "COMPLETED" and first["numDeleted"] == 4  # u0's four imported interactions
    assert first["dataSource"] == {"dataLocation": "s3://user-data/forget.csv"} and first["roleArn"] == ROLE
    later = personalize.describe_data_deletion_job(
        dataDeletionJobArn=first["dataDeletionJobArn"].replace("/d0", "/d2"))["dataDeletionJob"]
    assert later["numDeleted"] == 0  # nothing left to delete

    page = personalize.list_data_deletion_jobs(datasetGroupArn=group, maxResults=2)
    assert len(page["dataDeletionJobs"]) == 2 and "nextToken" in page
    rest = personalize.list_data_deletion_jobs(datasetGroupArn=group, maxResults=2, nextToken=page["nextToken"])
    assert len(rest["dataDeletionJobs"]) == 1 and "nextToken" not in rest
    summaries = page["dataDeletionJobs"] + rest["dataDeletionJobs"]
    assert sorted(s["jobName"] for s in summaries) == ["d0", "d1", "d2"]
    assert all(s["status"] == "COMPLETED" and s["datasetGroupArn"] == group for s in summaries)
    assert all(set(s) <= set(model.shape("personalize", "DataDeletionJobSummary").members) for s in summaries)
    assert len(personalize.list_data_deletion_jobs()["dataDeletionJobs"]) == 3
    with pytest.raises(errors.ResourceNotFoundException):
        personalize.list_data_deletion_jobs(datasetGroupArn=group + "-gone")
