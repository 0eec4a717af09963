"""Dataset import jobs through a stock boto3 client: real CSV reads, failures that keep earlier data."""

from __future__ import annotations

import pytest

from tailor.snapshot import column_values, read_snapshot
from tests.contract.conftest import import_and_wait
from tests.samples import interactions_csv, items_csv


def dataset_rows(tailor, dataset_arn: str, column: str) -> list:
    """What the dataset holds now (the snapshot training will read)."""
    service = tailor.embedded.service
    uri = service.store.get(dataset_arn).internal.get("snapshot")
    return [] if uri is None else column_values(read_snapshot(service.blobs, uri), column)


@pytest.fixture
def interactions(make_dataset, s3, personalize, tailor):
    arn = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="good.csv", Body=interactions_csv(n_users=3, per_user=2).encode())
    job = import_and_wait(personalize, tailor, arn, "s3://user-data/good.csv", "first")
    assert job["status"] == "ACTIVE"
    return arn


def test_import_job_describe_and_list(personalize, interactions):
    job_arn = "arn:aws:personalize:us-east-1:123456789012:dataset-import-job/first"
    job = personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"]
    assert job["datasetArn"] == interactions
    assert job["dataSource"] == {"dataLocation": "s3://user-data/good.csv"}
    assert job["importMode"] == "FULL"
    assert "failureReason" not in job
    listed = personalize.list_dataset_import_jobs(datasetArn=interactions)["datasetImportJobs"]
    assert [j["datasetImportJobArn"] for j in listed] == [job_arn]


def test_import_loads_the_rows(tailor, interactions):
    assert dataset_rows(tailor, interactions, "USER_ID") == ["u0", "u0", "u1", "u1", "u2", "u2"]


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("USER_ID,ITEM,EVENT_TYPE,TIMESTAMP,EVENT_VALUE\nu9,i9,click,1700000000,1.0\n",
         ["bad.csv", "header", "the required column 'ITEM_ID' is missing"]),
        ("USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu9,i8,yesterday,click,1\nu9,i9,,click,1\n",
         ["No row could be imported", "bad.csv line 2", "TIMESTAMP", "yesterday", "1 with an empty TIMESTAMP"]),
    ],
)
def test_bad_file_fails_the_job_and_keeps_earlier_data(personalize, tailor, s3, interactions, body, fragments):
    s3.put_object(Bucket="user-data", Key="bad.csv", Body=body.encode())
    job = import_and_wait(personalize, tailor, interactions, "s3://user-data/bad.csv", "second")
    assert job["status"] == "CREATE FAILED"
    for fragment in fragments:
        assert fragment in job["failureReason"]
    assert len(dataset_rows(tailor, interactions, "USER_ID")) == 6


def test_missing_object_fails_the_job_and_keeps_earlier_data(personalize, tailor, interactions):
    job = import_and_wait(personalize, tailor, interactions, "s3://user-data/nothing-here.csv", "second")
    assert job["status"] == "CREATE FAILED"
    assert "s3://user-data/nothing-here.csv" in job["failureReason"]
    assert len(dataset_rows(tailor, interactions, "USER_ID")) == 6


def test_missing_bucket_fails_the_job(personalize, tailor, interactions):
    job = import_and_wait(personalize, tailor, interactions, "s3://no-such-bucket/x.csv", "second")
    assert job["status"] == "CREATE FAILED"
    assert "no-such-bucket" in job["failureReason"]


def test_prefix_import_reads_every_file(personalize, tailor, s3, make_dataset):
    arn = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="parts/a.csv", Body=interactions_csv(n_users=2, per_user=2).encode())
    s3.put_object(Bucket="user-data", Key="parts/b.csv", Body=interactions_csv(n_users=3, per_user=1).encode())
    job = import_and_wait(personalize, tailor, arn, "s3://user-data/parts/", "parts")
    assert job["status"] == "ACTIVE"
    assert len(dataset_rows(tailor, arn, "USER_ID")) == 7


def test_full_replaces_and_incremental_upserts_items(personalize, tailor, s3, make_dataset):
    arn = make_dataset("ITEMS")
    s3.put_object(Bucket="user-data", Key="items.csv", Body=items_csv(4).encode())
    assert import_and_wait(personalize, tailor, arn, "s3://user-data/items.csv", "items-1")["status"] == "ACTIVE"
    s3.put_object(Bucket="user-data", Key="more.csv", Body=b"ITEM_ID,GENRE,PRICE\ni1,Western,9.5\ni9,Noir,1\n")
    job = import_and_wait(personalize, tailor, arn, "s3://user-data/more.csv", "items-2", mode="INCREMENTAL")
    assert job["status"] == "ACTIVE" and job["importMode"] == "INCREMENTAL"
    rows = dict(zip(dataset_rows(tailor, arn, "ITEM_ID"), dataset_rows(tailor, arn, "GENRE"), strict=True))
    assert rows == {"i0": "Comedy", "i1": "Western", "i2": "Horror", "i3": None, "i9": "Noir"}
    assert import_and_wait(personalize, tailor, arn, "s3://user-data/more.csv", "items-3")["status"] == "ACTIVE"
    assert sorted(dataset_rows(tailor, arn, "ITEM_ID")) == ["i1", "i9"]


def test_incremental_interactions_append(personalize, tailor, s3, interactions):
    s3.put_object(Bucket="user-data", Key="new.csv", Body=interactions_csv(n_users=1, per_user=2).encode())
    job = import_and_wait(personalize, tailor, interactions, "s3://user-data/new.csv", "more", mode="INCREMENTAL")
    assert job["status"] == "ACTIVE"
    assert len(dataset_rows(tailor, interactions, "USER_ID")) == 8


def test_import_needs_an_existing_dataset(personalize):
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.create_dataset_import_job(
            jobName="j", datasetArn="arn:aws:personalize:us-east-1:123456789012:dataset/x/INTERACTIONS",
            dataSource={"dataLocation": "s3://b/k.csv"}, roleArn="arn:aws:iam::123456789012:role/R")


def test_import_job_name_is_unique_and_location_validated(personalize, tailor, interactions):
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        import_and_wait(personalize, tailor, interactions, "s3://user-data/good.csv", "first")
    with pytest.raises(personalize.exceptions.InvalidInputException):
        import_and_wait(personalize, tailor, interactions, "ftp://user-data/good.csv", "other")


def test_incremental_import_after_schema_update_keeps_old_rows(personalize, tailor, s3, make_dataset):
    import json

    from tests.samples import ITEMS_SCHEMA

    arn = make_dataset("ITEMS")
    s3.put_object(Bucket="user-data", Key="items.csv", Body=items_csv(3).encode())
    assert import_and_wait(personalize, tailor, arn, "s3://user-data/items.csv", "items-1")["status"] == "ACTIVE"
    wider = json.loads(ITEMS_SCHEMA)
    wider["fields"].append({"name": "BRAND", "type": ["null", "string"], "categorical": True})
    schema = personalize.create_schema(name="items-v2", schema=json.dumps(wider))["schemaArn"]
    personalize.update_dataset(datasetArn=arn, schemaArn=schema)
    s3.put_object(Bucket="user-data", Key="v2.csv", Body=b"ITEM_ID,GENRE,PRICE,BRAND\ni7,Drama,2,Acme\n")
    job = import_and_wait(personalize, tailor, arn, "s3://user-data/v2.csv", "items-2", mode="INCREMENTAL")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert dataset_rows(tailor, arn, "ITEM_ID") == ["i0", "i1", "i2", "i7"]
    assert dataset_rows(tailor, arn, "BRAND") == [None, None, None, "Acme"]


def test_pandas_written_csvs_import_by_column_name(personalize, tailor, s3, make_dataset, tmp_path):
    """What AWS's notebooks do: a DataFrame written with `to_csv(path)` (an index column first), its columns in
    another order than the schema's, with columns the schema does not have. Personalize's recorded runs import these
    ACTIVE (its documentation asks for the schema's order)."""
    import pandas as pd

    # Given interactions in a DataFrame whose columns are in another order, with an extra one, written as notebooks do
    frame = pd.DataFrame({"USER_ID": ["u1", "u2", "u1"], "ITEM_ID": ["i1", "i1", "i2"],
                          "EVENT_TYPE": ["click", "purchase", "click"],
                          "TIMESTAMP": [1700000000, 1700000060, 1700000120], "SESSION": ["s1", "s2", "s1"]})
    path = tmp_path / "interactions.csv"
    frame.to_csv(path)
    assert path.read_text().splitlines()[0] == ",USER_ID,ITEM_ID,EVENT_TYPE,TIMESTAMP,SESSION"
    s3.upload_file(str(path), "user-data", "pandas/interactions.csv")
    # and items with only some of the schema's optional columns, in another order, written without the index
    items = pd.DataFrame({"PRICE": [9.5, 3.0], "ITEM_ID": ["i1", "i2"]})
    items.to_csv(tmp_path / "items.csv", index=False)
    s3.upload_file(str(tmp_path / "items.csv"), "user-data", "pandas/items.csv")

    # When both are imported
    interactions, item_set = make_dataset("INTERACTIONS"), make_dataset("ITEMS")
    first = import_and_wait(personalize, tailor, interactions, "s3://user-data/pandas/interactions.csv", "pandas-i")
    second = import_and_wait(personalize, tailor, item_set, "s3://user-data/pandas/items.csv", "pandas-items")

    # Then they are ACTIVE with each value under its own field, and the absent optional field null
    assert first["status"] == "ACTIVE", first.get("failureReason")
    assert second["status"] == "ACTIVE", second.get("failureReason")
    assert dataset_rows(tailor, interactions, "USER_ID") == ["u1", "u2", "u1"]
    assert dataset_rows(tailor, interactions, "EVENT_TYPE") == ["click", "purchase", "click"]
    assert dataset_rows(tailor, interactions, "TIMESTAMP") == [1700000000, 1700000060, 1700000120]
    assert dataset_rows(tailor, interactions, "EVENT_VALUE") == [None, None, None]
    assert dataset_rows(tailor, item_set, "PRICE") == [9.5, 3.0]
    assert dataset_rows(tailor, item_set, "GENRE") == [None, None]

    # And a DataFrame without a required field still fails, naming it
    frame.drop(columns=["TIMESTAMP"]).to_csv(path)
    s3.upload_file(str(path), "user-data", "pandas/no-time.csv")
    job = import_and_wait(personalize, tailor, interactions, "s3://user-data/pandas/no-time.csv", "pandas-bad")
    assert job["status"] == "CREATE FAILED"
    assert "the required column 'TIMESTAMP' is missing" in job["failureReason"]
    assert dataset_rows(tailor, interactions, "USER_ID") == ["u1", "u2", "u1"]  # the earlier import stays


def with_import_report(personalize) -> None:
    """What docs/migration.md tells a boto3 user to do to read Tailor's import report (an extension member that
    botocore's parser would otherwise leave out)."""
    import json

    def keep_report(http_response, parsed, **_):
        job = json.loads(http_response.content or b"{}").get("datasetImportJob", {})
        if "tailorImportReport" in job:
            parsed["datasetImportJob"]["tailorImportReport"] = job["tailorImportReport"]

    personalize.meta.events.register("after-call.personalize.DescribeDatasetImportJob", keep_report)


def test_rows_with_empty_or_malformed_values_are_dropped_and_reported(personalize, tailor, s3, tmp_path, caplog):
    """AWS's POC notebook: YEAR (an `int`, not nullable) taken from movie titles with pandas, 12 of them empty and
    one a range of years with an en dash. The recorded Personalize run imported it ACTIVE. Tailor drops those rows,
    imports the rest and says how many it dropped, and why, in the job."""
    import json

    import pandas as pd

    # Given item metadata as the POC notebook writes it, under a schema whose YEAR does not allow null
    schema = {"type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema", "version": "1.0",
              "fields": [{"name": "ITEM_ID", "type": "string"},
                         {"name": "GENRE", "type": "string", "categorical": True},
                         {"name": "YEAR", "type": "int"}]}
    schema_arn = personalize.create_schema(name="poc-items", schema=json.dumps(schema))["schemaArn"]
    group = personalize.create_dataset_group(name="poc")["datasetGroupArn"]
    items = personalize.create_dataset(name="poc-items", datasetType="ITEMS", datasetGroupArn=group,
                                       schemaArn=schema_arn)["datasetArn"]
    titles = [f"Film {n} ({1950 + n % 60})" for n in range(200)]
    for n in range(12):
        titles[10 * n + 5] = f"Untitled {n}"
    titles[150] = "Serial (2006\u20132007)"
    frame = pd.DataFrame({"movieId": range(1, 201), "title": titles, "genres": ["Drama|Comedy"] * 200})
    frame["year"] = frame["title"].str.extract(r".*\((.*)\).*", expand=False)
    frame = frame[["movieId", "genres", "year"]].rename(columns={"movieId": "ITEM_ID", "genres": "GENRE",
                                                               "year": "YEAR"})
    frame.to_csv(tmp_path / "item-meta.csv", index=False, float_format="%.0f")
    s3.upload_file(str(tmp_path / "item-meta.csv"), "user-data", "item-meta.csv")

    # When it is imported
    job = import_and_wait(personalize, tailor, items, "s3://user-data/item-meta.csv", "poc-items")

    # Then the job is ACTIVE with the 187 good rows, and the job says which rows it dropped and why
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert "failureReason" not in job and "tailorImportReport" not in job  # a stock client sees Personalize's shape
    assert len(dataset_rows(tailor, items, "ITEM_ID")) == 187
    assert "151" not in dataset_rows(tailor, items, "ITEM_ID")
    with_import_report(personalize)
    report = personalize.describe_dataset_import_job(datasetImportJobArn=job["datasetImportJobArn"])[
        "datasetImportJob"]["tailorImportReport"]
    assert report["rowsImported"] == 187 and report["rowsDropped"] == 13
    assert [(d["column"], d["problem"], d["rows"]) for d in report["droppedRows"]] == [("YEAR", "empty", 12),
                                                                                     ("YEAR", "invalid", 1)]
    assert report["droppedRows"][0]["first"].startswith("s3://user-data/item-meta.csv line 7, column YEAR")
    assert report["droppedRows"][1]["first"] == ("s3://user-data/item-meta.csv line 152, column YEAR: "
                                                 "'2006\u20132007' is not an int")
    # and so does the job's log
    logged = [r.getMessage() for r in caplog.records if r.name == "tailor.jobs"]
    assert any("poc-items dropped 13 of 200 rows: 12 with an empty YEAR" in line for line in logged), logged
