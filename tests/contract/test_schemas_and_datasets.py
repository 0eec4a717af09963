"""Schemas and datasets through a stock boto3 client."""

from __future__ import annotations

import json

import pytest

from tests.samples import INTERACTIONS_SCHEMA, ITEMS_SCHEMA


def test_schema_create_describe_list_delete(personalize):
    arn = personalize.create_schema(name="interactions", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    assert arn == "arn:aws:personalize:us-east-1:123456789012:schema/interactions"
    schema = personalize.describe_schema(schemaArn=arn)["schema"]
    assert json.loads(schema["schema"]) == json.loads(INTERACTIONS_SCHEMA)
    assert [s["schemaArn"] for s in personalize.list_schemas()["schemas"]] == [arn]
    personalize.delete_schema(schemaArn=arn)
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_schema(schemaArn=arn)


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ("{not json", "JSON"),
        (json.dumps({"type": "record", "name": "X", "fields": [
            {"name": "A", "type": {"type": "array", "items": "string"}}]}), "flat"),
        (json.dumps({"type": "record", "name": "X", "fields": [
            {"name": "GENRES_FIELD_1", "type": "string", "categorical": True},
            {"name": "GENRESFIELD1", "type": "string", "categorical": True}]}), "GENRESFIELD1"),
        (json.dumps({"type": "record", "name": "X", "fields": [{"name": "N", "type": "int", "categorical": True}]}),
         "categorical"),
    ],
)
def test_bad_schema_says_what_is_wrong(personalize, schema, fragment):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_schema(name="bad", schema=schema)
    assert fragment in str(err.value)


def test_schema_in_use_cannot_be_deleted(personalize, make_dataset):
    dataset = make_dataset("INTERACTIONS")
    schema_arn = personalize.describe_dataset(datasetArn=dataset)["dataset"]["schemaArn"]
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.delete_schema(schemaArn=schema_arn)


def test_dataset_arn_uses_group_name_and_type(personalize, tailor, group, make_dataset):
    arn = make_dataset("INTERACTIONS")
    assert arn == "arn:aws:personalize:us-east-1:123456789012:dataset/walkthrough/INTERACTIONS"
    dataset = personalize.describe_dataset(datasetArn=arn)["dataset"]
    assert dataset["status"] == "ACTIVE"
    assert dataset["datasetType"] == "INTERACTIONS"
    assert dataset["datasetGroupArn"] == group
    listed = personalize.list_datasets(datasetGroupArn=group)["datasets"]
    assert [d["datasetArn"] for d in listed] == [arn]


def test_one_dataset_per_type_per_group(personalize, group, make_dataset):
    make_dataset("INTERACTIONS")
    schema = personalize.list_schemas()["schemas"][0]["schemaArn"]
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException) as err:
        personalize.create_dataset(name="second", schemaArn=schema, datasetGroupArn=group,
                                   datasetType="Interactions")
    assert "already has a INTERACTIONS dataset" in str(err.value)


def test_schema_must_fit_the_dataset_type(personalize, group):
    schema = personalize.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_dataset(name="ds", schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS")
    assert "USER_ID" in str(err.value)


def test_dataset_needs_existing_group_and_schema(personalize, group):
    schema = personalize.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.create_dataset(name="ds", schemaArn=schema, datasetType="ITEMS",
                                   datasetGroupArn=group.replace("walkthrough", "nope"))
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.create_dataset(name="ds", schemaArn=schema.replace("items", "nope"), datasetType="ITEMS",
                                   datasetGroupArn=group)


def test_dataset_type_must_be_known(personalize, group):
    schema = personalize.create_schema(name="items", schema=ITEMS_SCHEMA)["schemaArn"]
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.create_dataset(name="ds", schemaArn=schema, datasetGroupArn=group, datasetType="PRODUCTS")


def test_domain_group_needs_domain_schema(personalize, tailor):
    group = personalize.create_dataset_group(name="vod", domain="VIDEO_ON_DEMAND")["datasetGroupArn"]
    tailor.wait()
    schema = personalize.create_schema(name="plain", schema=INTERACTIONS_SCHEMA)["schemaArn"]
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_dataset(name="ds", schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS")
    assert "domain" in str(err.value)
    vod = personalize.create_schema(name="vod", schema=INTERACTIONS_SCHEMA, domain="VIDEO_ON_DEMAND")["schemaArn"]
    personalize.create_dataset(name="ds", schemaArn=vod, datasetGroupArn=group, datasetType="INTERACTIONS")


def test_update_dataset_swaps_schema_and_records_the_update(personalize, make_dataset):
    arn = make_dataset("ITEMS")
    fields = json.loads(ITEMS_SCHEMA)
    fields["fields"].append({"name": "BRAND", "type": ["null", "string"], "categorical": True})
    wider = personalize.create_schema(name="items-v2", schema=json.dumps(fields))["schemaArn"]
    assert personalize.update_dataset(datasetArn=arn, schemaArn=wider)["datasetArn"] == arn
    dataset = personalize.describe_dataset(datasetArn=arn)["dataset"]
    assert dataset["schemaArn"] == wider
    assert dataset["latestDatasetUpdate"]["schemaArn"] == wider
    assert dataset["latestDatasetUpdate"]["status"] == "ACTIVE"


def test_update_dataset_refuses_dropping_fields(personalize, make_dataset):
    arn = make_dataset("ITEMS")
    narrow = json.loads(ITEMS_SCHEMA)
    narrow["fields"] = [f for f in narrow["fields"] if f["name"] != "PRICE"]
    schema = personalize.create_schema(name="items-narrow", schema=json.dumps(narrow))["schemaArn"]
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.update_dataset(datasetArn=arn, schemaArn=schema)
    assert "PRICE" in str(err.value)


def test_delete_dataset(personalize, tailor, make_dataset):
    arn = make_dataset("USERS")
    personalize.delete_dataset(datasetArn=arn)
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_dataset(datasetArn=arn)


def test_event_tracker_lifecycle_and_one_per_group(personalize, tailor, group):
    out = personalize.create_event_tracker(name="tracker", datasetGroupArn=group)
    arn, tracking_id = out["eventTrackerArn"], out["trackingId"]
    assert arn.startswith("arn:aws:personalize:us-east-1:123456789012:event-tracker/")
    assert len(arn.rsplit("/", 1)[1]) == 8
    assert len(tracking_id) == 36
    tailor.wait()
    tracker = personalize.describe_event_tracker(eventTrackerArn=arn)["eventTracker"]
    assert tracker["status"] == "ACTIVE" and tracker["trackingId"] == tracking_id
    assert tracker["accountId"] == "123456789012"
    assert [t["eventTrackerArn"] for t in personalize.list_event_trackers(datasetGroupArn=group)["eventTrackers"]] == [
        arn]
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_event_tracker(name="second", datasetGroupArn=group)
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.delete_dataset_group(datasetGroupArn=group)
    personalize.delete_event_tracker(eventTrackerArn=arn)
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_event_tracker(eventTrackerArn=arn)
    personalize.create_event_tracker(name="tracker", datasetGroupArn=group)
