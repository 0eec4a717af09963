"""personalize-events (PutEvents, PutItems, PutUsers) through stock boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config

from tailor.testing import TailorFixture

SENT_AT = 1_700_000_000


@pytest.fixture
def events(tailor: TailorFixture) -> Any:
    return tailor.client("personalize-events")


@pytest.fixture
def unchecked_events(tailor: TailorFixture) -> Any:
    """A client that sends what it is given, so the server's own checks are what is tested."""
    return tailor.client("personalize-events", config=Config(parameter_validation=False))


@pytest.fixture
def tracking(personalize: Any, tailor: TailorFixture, group: str, make_dataset: Callable[[str], str]) -> str:
    """The trackingId of an ACTIVE tracker on a group with an Interactions dataset (the sample schema)."""
    make_dataset("INTERACTIONS")
    tracking_id = personalize.create_event_tracker(name="tracker", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    return str(tracking_id)


def stored(tailor: TailorFixture, group: str, user: str) -> list[Any]:
    return tailor.embedded.service.events.user_events(group, user, 100)


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(Exception) as info:
        call()
    response = info.value.response  # type: ignore[attr-defined]
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# ---- PutEvents ---------------------------------------------------------------------------------------------


def test_walkthrough_put_events_is_stored(events, tailor, group, tracking):
    # Given the call seeds/000's walkthrough makes: itemId and eventValue inside properties (the 2019 style)
    response = events.put_events(
        trackingId=tracking, userId="1146992", sessionId="session_id",
        eventList=[{"sentAt": SENT_AT, "eventType": "Click",
                    "properties": json.dumps({"itemId": "9132854", "eventValue": float("20")})}],
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    [event] = stored(tailor, group, "1146992")
    assert (event.item_id, event.event_value, event.event_type, event.timestamp, event.session_id) == (
        "9132854", 20.0, "Click", SENT_AT, "session_id")
    # A retry (same content, no eventId) is stored once
    events.put_events(trackingId=tracking, userId="1146992", sessionId="session_id",
                      eventList=[{"sentAt": SENT_AT, "eventType": "Click",
                                  "properties": json.dumps({"eventValue": 20, "itemId": "9132854"})}])
    assert len(stored(tailor, group, "1146992")) == 1


def test_current_style_event_with_every_member(events, tailor, group, tracking):
    events.put_events(
        trackingId=tracking, sessionId="s1",  # no userId: the session stands for the anonymous user
        eventList=[{"eventId": "e1", "eventType": "purchase", "sentAt": SENT_AT + 0.5, "itemId": "i1",
                    "eventValue": 3.5, "recommendationId": "rec-1", "impression": ["i1", "i2"],
                    "metricAttribution": {"eventAttributionSource": "email"}},
                   {"eventType": "click", "sentAt": SENT_AT + 1, "itemId": "i2"}],
    )
    first, second = stored(tailor, group, "s1")
    assert (first.event_id, first.item_id, first.event_value, first.recommendation_id, first.impression) == (
        "e1", "i1", 3.5, "rec-1", ("i1", "i2"))
    assert first.timestamp == SENT_AT + 0.5  # boto3 sends a float as it is (a datetime in whole seconds)
    assert second.item_id == "i2" and second.event_value is None and second.event_id


def test_properties_hold_the_interactions_schema_metadata(personalize, events, tailor, group):
    schema = json.dumps({"type": "record", "name": "Interactions", "fields": [
        {"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"},
        {"name": "NUMBER_OF_RATINGS", "type": "int"}, {"name": "DEVICE", "type": ["null", "string"],
                                                        "categorical": True}]})
    schema_arn = personalize.create_schema(name="rich", schema=schema)["schemaArn"]
    personalize.create_dataset(name="i", schemaArn=schema_arn, datasetGroupArn=group, datasetType="INTERACTIONS")
    tailor.wait()
    tracking = personalize.create_event_tracker(name="t", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    events.put_events(trackingId=tracking, userId="u", sessionId="s", eventList=[
        {"eventType": "click", "sentAt": SENT_AT, "itemId": "i", "properties": '{"numberOfRatings": "12"}'},
        {"eventType": "click", "sentAt": SENT_AT + 1, "itemId": "i",
         "properties": '{"NUMBER_OF_RATINGS": 3, "device": "phone|tablet"}'},
    ])
    assert [dict(e.properties) for e in stored(tailor, group, "u")] == [
        {"NUMBER_OF_RATINGS": 12.0, "DEVICE": None}, {"NUMBER_OF_RATINGS": 3.0, "DEVICE": "phone|tablet"}]
    code, _, message = error_of(lambda: events.put_events(trackingId=tracking, userId="u", sessionId="s", eventList=[
        {"eventType": "click", "sentAt": SENT_AT, "itemId": "i", "properties": '{"device": "tv"}'}]))
    assert code == "InvalidInputException" and "eventList[0].properties.numberOfRatings is required" in message


def event_list(n: int = 1, **overrides: Any) -> list[dict[str, Any]]:
    return [{"eventType": "click", "sentAt": SENT_AT + k, "itemId": f"i{k}", **overrides} for k in range(n)]


BAD_EVENTS = [
    ({"eventList": event_list(11)}, "eventList"),
    ({"userId": "u" * 257}, "userId"),
    ({"eventList": event_list(properties="{not json")}, "eventList[0].properties is not a JSON object"),
    ({"eventList": event_list(properties="[1, 2]")}, "eventList[0].properties is not a JSON object"),
    ({"eventList": event_list(properties='{"color": "red"}')}, "eventList[0].properties.color is not a field"),
    ({"eventList": event_list(properties='{"eventValue": "lots"}')}, "eventList[0].properties.eventValue"),
    ({"eventList": event_list(properties='{"itemId": 42}')}, "eventList[0].properties.itemId"),
    ({"eventList": event_list(properties='{"itemId": "other"}')}, "disagrees with eventList[0].itemId"),
    ({"eventList": event_list(properties='{"userId": "x"}')}, "properties.userId is not allowed"),
    ({"eventList": event_list(properties='{"timestamp": 1}')}, "set eventList[0].sentAt"),
    ({"eventList": [{"eventType": "click", "sentAt": SENT_AT}]}, "eventList[0].itemId is required"),
    ({"eventList": event_list(sentAt=-5)}, "eventList[0].sentAt"),
    ({"trackingId": "no-such-tracker"}, "no-such-tracker"),
]


def test_bad_put_events_is_refused_naming_the_field(unchecked_events, tailor, group, tracking):
    # One tracker for every case (setting one up is most of a case's time)
    for overrides, fragment in BAD_EVENTS:
        request = {"trackingId": tracking, "userId": "u", "sessionId": "s", "eventList": event_list(), **overrides}
        code, status, message = error_of(lambda request=request: unchecked_events.put_events(**request))
        assert (code, status, fragment in message) == ("InvalidInputException", 400, True), (fragment, message)
    assert stored(tailor, group, "u") == []


def test_eleven_events_are_refused_by_a_stock_client_or_the_server(events, tracking):
    code, status, _ = error_of(lambda: events.put_events(
        trackingId=tracking, userId="u", sessionId="s", eventList=event_list(11)))
    assert (code, status) == ("InvalidInputException", 400)


def test_a_batch_with_a_bad_third_event_stores_none_of_it(events, tailor, group, tracking):
    batch = event_list(5)
    batch[2]["properties"] = '{"unknownKey": 1}'
    code, _, message = error_of(lambda: events.put_events(trackingId=tracking, userId="u", sessionId="s",
                                                          eventList=batch))
    assert code == "InvalidInputException" and "eventList[2].properties.unknownKey" in message
    assert "itemId, eventValue" in message  # the allowed keys are listed
    assert stored(tailor, group, "u") == []


def test_put_events_needs_an_active_tracker_and_an_interactions_dataset(personalize, events, tailor, group):
    tracking = personalize.create_event_tracker(name="t", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    code, _, message = error_of(lambda: events.put_events(trackingId=tracking, sessionId="s",
                                                          eventList=event_list()))
    assert code == "InvalidInputException" and "Interactions dataset" in message
    tracker = personalize.list_event_trackers(datasetGroupArn=group)["eventTrackers"][0]["eventTrackerArn"]
    personalize.delete_event_tracker(eventTrackerArn=tracker)
    tailor.wait()
    code, _, message = error_of(lambda: events.put_events(trackingId=tracking, sessionId="s",
                                                          eventList=event_list()))
    assert code == "InvalidInputException" and tracking in message


# ---- PutItems / PutUsers -----------------------------------------------------------------------------------


def test_put_items_and_users_store_records_by_id(events, tailor, make_dataset):
    items, users = make_dataset("ITEMS"), make_dataset("USERS")
    store = tailor.embedded.service.events
    events.put_items(datasetArn=items, items=[
        {"itemId": "i1", "properties": json.dumps({"genre": "Comedy|Drama", "price": 9.5})},
        {"itemId": "i2"},  # every ITEMS field but the id is nullable in the sample schema
    ])
    events.put_items(datasetArn=items, items=[{"itemId": "i1", "properties": '{"PRICE": "12"}'}])
    assert {r.record_id: dict(r.properties) for r in store.records_since(items, 0)} == {
        "i1": {"GENRE": None, "PRICE": 12.0}, "i2": {"GENRE": None, "PRICE": None}}
    events.put_users(datasetArn=users, users=[{"userId": "u1", "properties": '{"membership": "gold"}'}])
    assert store.get_records(users, ["u1"])["u1"].properties == {"MEMBERSHIP": "gold"}


BAD_RECORDS = [
    ("ITEMS", [{"itemId": "i", "properties": '{"price": "cheap"}'}], "items[0].properties.price"),
    ("ITEMS", [{"itemId": "i"}, {"itemId": "j", "properties": '{"colour": "red"}'}],
     "items[1].properties.colour is not a field of the Items schema"),
    ("ITEMS", [{"itemId": "i", "properties": '{"itemId": "j"}'}], "set items[0].itemId"),
    ("ITEMS", [{"itemId": "i", "properties": "nope"}], "items[0].properties is not a JSON object"),
    ("ITEMS", [{"itemId": "i", "properties": '{"genre": "a", "GENRE": "b"}'}], "name the same field GENRE"),
    ("USERS", [{"userId": "u"}], "users[0].properties.membership is required"),
    ("USERS", [{"userId": "u", "properties": '{"membership": 5}'}], "membership: 5 is not a string"),
]


def test_bad_records_are_refused_and_none_stored(events, tailor, make_dataset):
    arns = {"ITEMS": make_dataset("ITEMS"), "USERS": make_dataset("USERS")}
    for dataset_type, entries, fragment in BAD_RECORDS:
        put = events.put_items if dataset_type == "ITEMS" else events.put_users
        member = "items" if dataset_type == "ITEMS" else "users"
        code, status, message = error_of(
            lambda put=put, arn=arns[dataset_type], request={member: entries}: put(datasetArn=arn, **request))
        assert (code, status, fragment in message) == ("InvalidInputException", 400, True), (fragment, message)
    assert [tailor.embedded.service.events.records_since(arn, 0) for arn in arns.values()] == [[], []]


def test_put_items_needs_an_existing_active_items_dataset(events, make_dataset):
    users = make_dataset("USERS")
    missing = users.replace("USERS", "ITEMS")
    code, status, message = error_of(lambda: events.put_items(datasetArn=missing, items=[{"itemId": "i"}]))
    assert (code, status) == ("ResourceNotFoundException", 404) and missing in message
    code, status, message = error_of(lambda: events.put_items(datasetArn=users, items=[{"itemId": "i"}]))
    assert (code, status) == ("InvalidInputException", 400) and "PutUsers" in message


def test_put_users_on_a_dataset_that_is_not_active_is_in_use(events, tailor, make_dataset):
    arn = make_dataset("USERS")
    tailor.embedded.service.store.update(arn, {"status": "DELETE PENDING"})  # as DeleteDataset leaves it
    code, status, message = error_of(lambda: events.put_users(datasetArn=arn, users=[{"userId": "u"}]))
    assert (code, status) == ("ResourceInUseException", 409) and "DELETE PENDING" in message


def test_an_item_put_without_creation_timestamp_is_dated_when_put(personalize, events, tailor, group):
    schema = json.dumps({"type": "record", "name": "Items", "fields": [
        {"name": "ITEM_ID", "type": "string"}, {"name": "CREATION_TIMESTAMP", "type": "long"},
        {"name": "IN_STOCK", "type": "boolean"}]})
    schema_arn = personalize.create_schema(name="dated", schema=schema)["schemaArn"]
    arn = personalize.create_dataset(name="i", schemaArn=schema_arn, datasetGroupArn=group, datasetType="ITEMS")[
        "datasetArn"]
    tailor.wait()
    events.put_items(datasetArn=arn, items=[
        {"itemId": "old", "properties": '{"creationTimestamp": 1600000000, "inStock": false}'},
        {"itemId": "new", "properties": '{"inStock": "true"}'}])
    got = tailor.embedded.service.events.get_records(arn, ["old", "new"])
    assert got["old"].properties == {"CREATION_TIMESTAMP": 1600000000.0, "IN_STOCK": 0.0}
    assert got["new"].properties["IN_STOCK"] == 1.0
    assert abs(got["new"].properties["CREATION_TIMESTAMP"] - got["new"].put_at) < 5
