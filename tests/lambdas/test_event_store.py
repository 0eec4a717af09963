"""The event stores: DynamoDB (under moto) and in memory behave the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tailor import config
from tailor.adapters.events import DynamoEventStore
from tailor.adapters.memory import MemoryEventStore
from tailor.ports import StoredEvent, StoredRecord
from tests.lambdas.conftest import ENV

GROUP = "arn:aws:personalize:us-east-1:123456789012:dataset-group/g"
ITEMS = "arn:aws:personalize:us-east-1:123456789012:dataset/g/ITEMS"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Clock]]:
    clock = Clock()
    if request.param == "memory":
        yield MemoryEventStore(clock=clock), clock
    else:
        aws = request.getfixturevalue("aws")
        yield DynamoEventStore(aws.client("dynamodb"), ENV[config.ENV_EVENTS_TABLE], clock=clock), clock


def event(user: str, t: float, eid: str = "", item: str = "i1", **kwargs: Any) -> StoredEvent:
    return StoredEvent(user_id=user, event_id=eid or f"e{t}", event_type="click", timestamp=t, session_id="s",
                       item_id=item, **kwargs)


def test_events_round_trip_newest_n_oldest_first(store):
    events, _ = store
    full = event("u1", 5.5, "x", event_value=2.5, recommendation_id="r", impression=("a", "b"),
                 properties={"PRICE": 1.0, "COLOR": None})
    events.put_events(GROUP, [event("u1", 1), full, event("u1", 3), event("u2", 4)])
    events.put_events(GROUP, [event("u1", 2)])
    assert [e.timestamp for e in events.user_events(GROUP, "u1", 3)] == [2, 3, 5.5]
    assert [e.timestamp for e in events.user_events(GROUP, "u1", 100)] == [1, 2, 3, 5.5]
    assert events.user_events(GROUP, "u1", 0) == []
    assert events.user_events(GROUP, "nobody", 5) == []
    assert events.user_events(GROUP, "u1", 1) == [full]  # every field comes back as it went in


def test_a_retried_event_is_stored_once(store):
    events, _ = store
    batch = [event("u1", 1, "same"), event("u1", 2, "other")]
    events.put_events(GROUP, batch)
    events.put_events(GROUP, batch)
    events.put_events(GROUP, [event("u1", 1, "same"), event("u1", 1, "same")])  # twice in one batch, too
    assert [e.event_id for e in events.user_events(GROUP, "u1", 10)] == ["same", "other"]


def test_group_events_reads_every_user_of_the_group_only(store):
    events, _ = store
    events.put_events(GROUP, [event("u1", 1), event("u2", 2)])
    events.put_events(GROUP + "2", [event("u1", 3)])  # a group whose name extends "g"
    assert sorted(e.timestamp for e in events.group_events(GROUP)) == [1, 2]


def test_a_batch_over_the_limit_stores_nothing(store):
    events, _ = store
    with pytest.raises(ValueError):
        events.put_events(GROUP, [event("u1", t) for t in range(11)])
    with pytest.raises(ValueError):
        events.put_records(ITEMS, [StoredRecord(f"i{n}", {}) for n in range(11)])
    assert list(events.group_events(GROUP)) == [] and events.records_since(ITEMS, 0) == []


class Throttling:
    """A DynamoDB client that, like a throttled table, writes only part of the first batch and returns the rest as
    UnprocessedItems; the next call fails outright."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        self.calls += 1
        (table, requests), = RequestItems.items()
        if self.calls == 2:
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "BatchWriteItem")
        written, left = (requests[:2], requests[2:]) if self.calls == 1 else (requests, [])
        self.client.batch_write_item(RequestItems={table: written})
        return {"UnprocessedItems": {table: left} if left else {}}


def test_a_partly_written_batch_is_completed_by_the_retry_and_stored_once(aws, monkeypatch):
    # Given DynamoDB writing two events of a batch and then failing
    monkeypatch.setattr("tailor.adapters.events.time.sleep", lambda seconds: None)
    client = Throttling(aws.client("dynamodb"))
    events = DynamoEventStore(client, ENV[config.ENV_EVENTS_TABLE])
    batch = [event("u1", t) for t in range(1, 6)]
    # When the call fails part-way, the caller sees the failure
    with pytest.raises(ClientError):
        events.put_events(GROUP, batch)
    assert len(events.user_events(GROUP, "u1", 10)) == 2
    # Then the SDK's retry of the same call completes the batch, every event once
    events.put_events(GROUP, batch)
    assert [e.timestamp for e in events.user_events(GROUP, "u1", 10)] == [1, 2, 3, 4, 5]


def test_records_replace_by_id_and_come_back_in_put_order(store):
    events, clock = store
    first = events.put_records(ITEMS, [StoredRecord("a", {"GENRE": "x"}), StoredRecord("b", {"GENRE": "y"})])
    assert first == clock.now
    clock.now += 10
    second = events.put_records(ITEMS, [StoredRecord("a", {"GENRE": "z"}), StoredRecord("c", {"GENRE": None})])
    assert second == first + 10
    got = events.get_records(ITEMS, ["a", "b", "missing"])
    assert got == {"a": StoredRecord("a", {"GENRE": "z"}, second), "b": StoredRecord("b", {"GENRE": "y"}, first)}
    assert [(r.record_id, r.put_at) for r in events.records_since(ITEMS, 0)] == [
        ("b", first), ("a", second), ("c", second)]
    assert [r.record_id for r in events.records_since(ITEMS, second)] == ["a", "c"]
    assert events.records_since(ITEMS, second + 0.001) == []
    assert events.records_since(ITEMS + "x", 0) == []


def test_a_clock_behind_still_files_a_new_version_after_the_old(store):
    events, clock = store
    first = events.put_records(ITEMS, [StoredRecord("a", {"GENRE": "x"})])
    clock.now -= 60  # another machine whose clock is a minute behind
    second = events.put_records(ITEMS, [StoredRecord("a", {"GENRE": "y"})])
    assert second > first
    assert events.records_since(ITEMS, 0) == [StoredRecord("a", {"GENRE": "y"}, second)]  # one entry per id


def test_get_records_reads_more_than_one_batch_get(store):
    events, clock = store
    for start in range(0, 120, 10):
        clock.now += 1
        events.put_records(ITEMS, [StoredRecord(f"i{n}", {"N": float(n)}) for n in range(start, start + 10)])
    got = events.get_records(ITEMS, [f"i{n}" for n in range(120)])
    assert len(got) == 120 and got["i119"].properties == {"N": 119.0}
    assert len(events.records_since(ITEMS, 0)) == 120
