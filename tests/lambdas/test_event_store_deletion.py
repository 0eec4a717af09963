"""Deleting a user's data from the event stores (a data deletion job's part): DynamoDB under moto and in memory."""

from __future__ import annotations

from typing import Any

from tailor import config
from tailor.adapters.events import DynamoEventStore
from tailor.ports import StoredRecord
from tests.lambdas import test_event_store
from tests.lambdas.conftest import ENV
from tests.lambdas.test_event_store import GROUP, event

USERS = "arn:aws:personalize:us-east-1:123456789012:dataset/g/USERS"

store = test_event_store.store  # both stores, each with its clock


def test_deleting_a_user_removes_their_events_and_leaves_a_tombstone(store):
    events, _ = store
    events.put_events(GROUP, [event("u1", t) for t in (1, 2, 3)] + [event("u2", 4)])
    events.put_events(GROUP + "2", [event("u1", 5)])  # another group whose name extends "g"
    assert events.delete_user(GROUP, "u1", deleted_at=100.0) == 3
    assert events.user_events(GROUP, "u1", 10) == []
    [tombstone] = events.user_events(GROUP, "u1", 10, include_tombstone=True)
    assert tombstone.tombstone and tombstone.timestamp == 100.0 and tombstone.user_id == "u1"
    # Other users and groups keep theirs; training and exports never see a tombstone.
    assert [e.timestamp for e in events.user_events(GROUP, "u2", 10, include_tombstone=True)] == [4]
    assert [e.timestamp for e in events.user_events(GROUP + "2", "u1", 10)] == [5]
    assert [(e.user_id, e.timestamp) for e in events.group_events(GROUP)] == [("u2", 4)]


def test_events_put_after_a_deletion_come_with_the_tombstone_last(store):
    events, _ = store
    events.put_events(GROUP, [event("u1", 1)])
    events.delete_user(GROUP, "u1", deleted_at=50.0)
    events.put_events(GROUP, [event("u1", t) for t in (60, 70, 80)])
    # The tombstone takes no place of an event: `limit` events, then the marker.
    assert [(e.timestamp, e.tombstone) for e in events.user_events(GROUP, "u1", 2, include_tombstone=True)] == [
        (70, False), (80, False), (50.0, True)]
    assert [e.timestamp for e in events.user_events(GROUP, "u1", 2)] == [70, 80]
    # A second deletion replaces the tombstone and deletes only events.
    assert events.delete_user(GROUP, "u1", deleted_at=90.0) == 3
    assert [(e.timestamp, e.tombstone) for e in events.user_events(GROUP, "u1", 5, include_tombstone=True)] == [
        (90.0, True)]
    assert events.delete_user(GROUP, "nobody", deleted_at=90.0) == 0


def test_deleting_records_removes_them_and_their_put_log_entries(store):
    events, clock = store
    first = events.put_records(USERS, [StoredRecord("a", {"M": "x"}), StoredRecord("b", {"M": "y"})])
    clock.now += 10
    events.put_records(USERS, [StoredRecord("a", {"M": "z"})])
    assert events.delete_records(USERS, ["a", "missing", "a"]) == 1
    assert events.get_records(USERS, ["a", "b"]) == {"b": StoredRecord("b", {"M": "y"}, first)}
    assert [r.record_id for r in events.records_since(USERS, 0)] == ["b"]
    # A record put again after its deletion is stored as new, with one log entry.
    clock.now += 10
    again = events.put_records(USERS, [StoredRecord("a", {"M": "w"})])
    assert events.records_since(USERS, 0) == [StoredRecord("b", {"M": "y"}, first),
                                              StoredRecord("a", {"M": "w"}, again)]


class SmallPages:
    """A DynamoDB client whose Query returns at most 7 items a page, and which records BatchWriteItem sizes."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.batch_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def query(self, **kwargs: Any) -> Any:
        return self.client.query(**{"Limit": 7, **kwargs})

    def batch_write_item(self, RequestItems: Any) -> Any:
        self.batch_sizes += [len(requests) for requests in RequestItems.values()]
        return self.client.batch_write_item(RequestItems=RequestItems)


def test_dynamo_deletion_pages_through_many_events_in_batches_of_25(aws):
    client = SmallPages(aws.client("dynamodb"))
    events = DynamoEventStore(client, ENV[config.ENV_EVENTS_TABLE])
    for start in range(0, 60, 10):
        events.put_events(GROUP, [event("u1", t) for t in range(start, start + 10)])
    client.batch_sizes.clear()
    assert events.delete_user(GROUP, "u1", deleted_at=1_000.0) == 60
    assert client.batch_sizes and max(client.batch_sizes) <= 25
    assert events.user_events(GROUP, "u1", 100) == [] and list(events.group_events(GROUP)) == []
    records = [StoredRecord(f"r{n}", {"M": "x"}) for n in range(30)]
    for start in range(0, 30, 10):
        events.put_records(USERS, records[start : start + 10])
    client.batch_sizes.clear()
    assert events.delete_records(USERS, [r.record_id for r in records]) == 30
    assert max(client.batch_sizes) <= 25 and sum(client.batch_sizes) == 60  # each record and its log entry
    assert events.records_since(USERS, 0) == []


class UnprocessedOnce(SmallPages):
    """Leaves all but two requests of its first BatchWriteItem unprocessed, as a throttled table does."""

    def batch_write_item(self, RequestItems: Any) -> Any:
        ((table, requests),) = RequestItems.items()
        if self.batch_sizes:
            return super().batch_write_item(RequestItems)
        self.batch_sizes.append(len(requests))
        self.client.batch_write_item(RequestItems={table: requests[:2]})
        return {"UnprocessedItems": {table: requests[2:]}}


def test_dynamo_deletion_retries_what_dynamodb_leaves_unprocessed(aws, monkeypatch):
    monkeypatch.setattr("tailor.adapters.events.time.sleep", lambda seconds: None)
    events = DynamoEventStore(aws.client("dynamodb"), ENV[config.ENV_EVENTS_TABLE])
    events.put_events(GROUP, [event("u1", t) for t in range(5)])
    throttled = UnprocessedOnce(aws.client("dynamodb"))
    assert DynamoEventStore(throttled, ENV[config.ENV_EVENTS_TABLE]).delete_user(GROUP, "u1", deleted_at=9.0) == 5
    assert throttled.batch_sizes == [5, 3]  # the three left over went in a second call
    assert events.user_events(GROUP, "u1", 10) == []
