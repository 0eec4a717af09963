"""Jobs that overlap on one dataset lose nothing: two imports, an import and a deletion, a stop and a failure.

Each race is forced, not hoped for: the import job is held at a chosen point (after reading its files, before
switching the dataset to its data) while the other job runs, so the interleaving that lost data is the one tested."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tailor.snapshot import column_values, read_snapshot
from tests.contract.conftest import import_and_wait
from tests.contract.test_data_jobs import ROLE, export, read_export
from tests.contract.test_walkthrough import wait_status
from tests.samples import interactions_csv


def dataset_column(tailor: Any, dataset_arn: str, column: str) -> list[Any]:
    service = tailor.embedded.service
    uri = service.store.get(dataset_arn).internal.get("snapshot")
    return [] if uri is None else column_values(read_snapshot(service.blobs, uri), column)


def csv_of(users: range, per_user: int = 3, first_time: int = 1_700_000_000) -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    for u in users:
        lines += [f"u{u},i{(u + k) % 50},{first_time + 60 * k},click," for k in range(per_user)]
    return "\n".join(lines) + "\n"


class Gate:
    """Holds import jobs after they have read their files until `release`; `arrived` counts those waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, parties: int) -> None:
        import tailor.jobs

        self.barrier = threading.Barrier(parties, timeout=60)
        self.release = threading.Event()
        read = tailor.jobs.read_csv

        def held(*args: Any, **kwargs: Any) -> Any:
            out = read(*args, **kwargs)
            self.barrier.wait()  # every held job has read the dataset's data as it was before any of them switched
            assert self.release.wait(60)
            return out

        monkeypatch.setattr(tailor.jobs, "read_csv", held)


@pytest.fixture
def dataset(personalize, tailor, s3, make_dataset) -> str:
    """An Interactions dataset holding 100 rows."""
    arn = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="base.csv", Body=interactions_csv(n_users=25, per_user=4).encode())
    assert import_and_wait(personalize, tailor, arn, "s3://user-data/base.csv", "base")["status"] == "ACTIVE"
    assert len(dataset_column(tailor, arn, "USER_ID")) == 100
    return arn


def test_two_incremental_imports_at_once_both_land(personalize, tailor, s3, dataset, monkeypatch):
    # Given two files of 30,000 rows each, and both jobs made to read the dataset before either switches it
    for name, users in (("a", range(1000, 11000)), ("b", range(20000, 30000))):
        s3.put_object(Bucket="user-data", Key=f"{name}.csv", Body=csv_of(users).encode())
    gate = Gate(monkeypatch, parties=2)

    # When both INCREMENTAL imports run at once
    jobs = [personalize.create_dataset_import_job(
        jobName=f"more-{name}", datasetArn=dataset, roleArn=ROLE, importMode="INCREMENTAL",
        dataSource={"dataLocation": f"s3://user-data/{name}.csv"})["datasetImportJobArn"] for name in ("a", "b")]
    gate.release.set()
    tailor.wait()

    # Then both are ACTIVE and the dataset holds every row of both
    for job in jobs:
        assert personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"] == \
            "ACTIVE"
    users = dataset_column(tailor, dataset, "USER_ID")
    assert len(users) == 60_100
    assert {"u1000", "u10999", "u20000", "u29999", "u0"} <= set(users)


def test_a_deletion_is_not_undone_by_an_import_that_finishes_after_it(personalize, tailor, s3, group, dataset,
                                                                      monkeypatch):
    # Given an INCREMENTAL import of rows that include u3's, held after reading its file
    s3.put_object(Bucket="user-data", Key="late.csv", Body=csv_of(range(3, 40)).encode())
    s3.put_object(Bucket="user-data", Key="forget.csv", Body=b"USER_ID\nu3\n")
    gate = Gate(monkeypatch, parties=1)
    job = personalize.create_dataset_import_job(
        jobName="late", datasetArn=dataset, roleArn=ROLE, importMode="INCREMENTAL",
        dataSource={"dataLocation": "s3://user-data/late.csv"})["datasetImportJobArn"]

    # When u3 is deleted meanwhile, and the import finishes after the deletion completed
    deletion = personalize.create_data_deletion_job(jobName="forget", datasetGroupArn=group, roleArn=ROLE,
                                                    dataSource={"dataLocation": "s3://user-data/forget.csv"})
    deletion_arn = deletion["dataDeletionJobArn"]
    status = wait_status(lambda: personalize.describe_data_deletion_job(dataDeletionJobArn=deletion_arn)[
        "dataDeletionJob"]["status"], done=("COMPLETED", "FAILED"))
    assert status == "COMPLETED"
    gate.release.set()
    tailor.wait()

    # Then the import is ACTIVE with its other users, and u3 is in neither the dataset nor an export
    assert personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"] == "ACTIVE"
    users = set(dataset_column(tailor, dataset, "USER_ID"))
    assert "u3" not in users and {"u4", "u39"} <= users
    assert export(personalize, tailor, dataset, "after", mode="ALL", path="s3://user-data/exports/after/")[
        "status"] == "ACTIVE"
    _, rows = read_export(s3, "exports/after/")
    assert rows and all(row[0] != "u3" for row in rows)


def test_an_import_created_after_a_deletion_brings_the_user_back(personalize, tailor, s3, group, dataset):
    """New data about a deleted user, sent after the deletion finished, is new data: it is kept."""
    s3.put_object(Bucket="user-data", Key="forget.csv", Body=b"USER_ID\nu3\n")
    personalize.create_data_deletion_job(jobName="forget", datasetGroupArn=group, roleArn=ROLE,
                                         dataSource={"dataLocation": "s3://user-data/forget.csv"})
    tailor.wait()
    assert "u3" not in dataset_column(tailor, dataset, "USER_ID")
    s3.put_object(Bucket="user-data", Key="again.csv", Body=csv_of(range(3, 4)).encode())
    job = import_and_wait(personalize, tailor, dataset, "s3://user-data/again.csv", "again", mode="INCREMENTAL")
    assert job["status"] == "ACTIVE"
    assert dataset_column(tailor, dataset, "USER_ID").count("u3") == 3
