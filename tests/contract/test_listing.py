"""Every List* operation pages with maxResults and an opaque nextToken, through botocore's own paginators."""

from __future__ import annotations

import pytest

from tests.contract.conftest import import_and_wait
from tests.samples import interactions_csv


@pytest.fixture
def populated(personalize, tailor, s3, group, make_dataset):
    """Three of each listable resource kind this release serves."""
    dataset = make_dataset("INTERACTIONS")
    make_dataset("ITEMS")
    make_dataset("USERS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=interactions_csv(2, 2).encode())
    for i in range(3):
        import_and_wait(personalize, tailor, dataset, "s3://user-data/i.csv", f"job-{i}")
        personalize.create_filter(name=f"filter-{i}", datasetGroupArn=group,
                                  filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("x")')
    for i in range(2):
        arn = personalize.create_dataset_group(name=f"other-{i}")["datasetGroupArn"]
        tailor.wait()
        personalize.create_event_tracker(name=f"tracker-{i}", datasetGroupArn=arn)
    personalize.create_event_tracker(name="tracker-main", datasetGroupArn=group)
    tailor.wait()
    return {"group": group, "dataset": dataset}


@pytest.mark.parametrize(
    ("operation", "key", "parent", "expected"),
    [
        ("list_dataset_groups", "datasetGroups", None, 3),
        ("list_schemas", "schemas", None, 3),
        ("list_datasets", "datasets", "datasetGroupArn", 3),
        ("list_dataset_import_jobs", "datasetImportJobs", "datasetArn", 3),
        ("list_filters", "Filters", "datasetGroupArn", 3),
        ("list_event_trackers", "eventTrackers", None, 3),
    ],
)
def test_paginators_with_page_size_one(personalize, populated, operation, key, parent, expected):
    kwargs = {}
    if parent == "datasetGroupArn":
        kwargs[parent] = populated["group"]
    elif parent == "datasetArn":
        kwargs[parent] = populated["dataset"]
    pages = list(personalize.get_paginator(operation).paginate(**kwargs, PaginationConfig={"PageSize": 1}))
    items = [item for page in pages for item in page[key]]
    assert len(items) == expected == len(pages)
    assert len({str(sorted(i.items())) for i in items}) == expected  # no repeats across pages
    assert "nextToken" not in pages[-1]


def test_list_under_an_unknown_parent_is_not_found(personalize):
    missing = "arn:aws:personalize:us-east-1:123456789012:dataset-group/missing"
    for operation in (personalize.list_datasets, personalize.list_filters, personalize.list_event_trackers):
        with pytest.raises(personalize.exceptions.ResourceNotFoundException):
            operation(datasetGroupArn=missing)
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.list_dataset_import_jobs(datasetArn=missing.replace("dataset-group/missing", "dataset/m/ITEMS"))


def test_duplicate_schema_name(personalize, sample_schemas):
    personalize.create_schema(name="s", schema=sample_schemas["ITEMS"])
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_schema(name="s", schema=sample_schemas["USERS"])


def test_unknown_feature_transformation(personalize):
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_feature_transformation(
            featureTransformationArn="arn:aws:personalize:::feature-transformation/nope")


@pytest.mark.parametrize("location", ["https://example.com/data.csv", "s3://", "s3:///key.csv"])
def test_import_location_must_be_s3(personalize, make_dataset, location):
    dataset = make_dataset("INTERACTIONS")
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_dataset_import_job(jobName="j", datasetArn=dataset, dataSource={"dataLocation": location})
    assert "s3://" in str(err.value)


MISSING = "arn:aws:personalize:us-east-1:123456789012"


@pytest.mark.parametrize(
    ("operation", "param", "arn"),
    [
        ("describe_dataset_group", "datasetGroupArn", f"{MISSING}:dataset-group/none"),
        ("delete_dataset_group", "datasetGroupArn", f"{MISSING}:dataset-group/none"),
        ("describe_schema", "schemaArn", f"{MISSING}:schema/none"),
        ("delete_schema", "schemaArn", f"{MISSING}:schema/none"),
        ("describe_dataset", "datasetArn", f"{MISSING}:dataset/none/ITEMS"),
        ("delete_dataset", "datasetArn", f"{MISSING}:dataset/none/ITEMS"),
        ("describe_dataset_import_job", "datasetImportJobArn", f"{MISSING}:dataset-import-job/none"),
        ("describe_event_tracker", "eventTrackerArn", f"{MISSING}:event-tracker/0000abcd"),
        ("delete_event_tracker", "eventTrackerArn", f"{MISSING}:event-tracker/0000abcd"),
        ("describe_filter", "filterArn", f"{MISSING}:filter/none"),
        ("delete_filter", "filterArn", f"{MISSING}:filter/none"),
        ("list_tags_for_resource", "resourceArn", f"{MISSING}:filter/none"),
        # an existing resource of another kind is not found either
        ("describe_filter", "filterArn", f"{MISSING}:dataset-group/walkthrough"),
    ],
)
def test_unknown_arns_are_not_found(personalize, group, operation, param, arn):
    with pytest.raises(personalize.exceptions.ResourceNotFoundException) as err:
        getattr(personalize, operation)(**{param: arn})
    assert arn in str(err.value)
