"""EventStore on the events table: a user's events sorted by time, items and users by id plus a log by put time.

Key layout (pk / sk, both strings; config.EVENTS_PK / EVENTS_SK):

    e#<datasetGroupArn>#<userId>   <sentAt %017.3f>#<eventId>   one event; newest n = Query backwards, Limit n
    e#<datasetGroupArn>#<userId>   ~deleted                     the user's tombstone (a data deletion job's)
    r#<datasetArn>                 <recordId>                   the latest version of an item or user
    l#<datasetArn>                 <putAt %017.3f>#<recordId>   the same version again, in put order (records_since)

Each item keeps its payload as one JSON string attribute "d", so numbers never become Decimals. A retried event lands
on the same key (same user, time and eventId) and is stored once. A record's earlier log entry is deleted in the
transaction that writes its new version, so the log holds one entry per id; the write is conditional on the version
it replaces, so concurrent puts of one id retry rather than leave two log entries.

A data deletion job deletes a user's events and leaves a tombstone whose sort key sorts after every time key, so the
runtime's newest-first Query of the user's events reads it first, in the same request (one item more).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from tailor import config
from tailor.errors import ResourceInUseException
from tailor.ports import StoredEvent, StoredRecord

# The most events or records one call stores (PutEvents / PutItems / PutUsers take 1 to 10).
MAX_BATCH = 10
_MAX_RETRIES = 8
_BATCH_GET = 100  # keys per BatchGetItem
_BATCH_WRITE = 25  # requests per BatchWriteItem
# The tombstone's sort key: "~" sorts after the digits every event's key starts with.
TOMBSTONE_SK = "~deleted"


def time_key(seconds: float) -> str:
    """Zero-padded epoch seconds that sort as text in time order (0 to 10^13 s)."""
    return f"{seconds:017.3f}"


def event_pk(group_arn: str, user_id: str) -> str:
    return f"e#{group_arn}#{user_id}"


def event_sk(event: StoredEvent) -> str:
    return f"{time_key(event.timestamp)}#{event.event_id}"


def record_pk(dataset_arn: str) -> str:
    return f"r#{dataset_arn}"


def log_pk(dataset_arn: str) -> str:
    return f"l#{dataset_arn}"


def encode_event(event: StoredEvent) -> str:
    return json.dumps(
        {
            "user_id": event.user_id,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "timestamp": event.timestamp,
            "session_id": event.session_id,
            "item_id": event.item_id,
            "event_value": event.event_value,
            "recommendation_id": event.recommendation_id,
            "impression": list(event.impression),
            "properties": dict(event.properties),
            # only when set, so events without one are stored exactly as before
            **({"event_attribution_source": event.event_attribution_source} if event.event_attribution_source else {}),
        },
        separators=(",", ":"),
    )


def decode_event(text: str) -> StoredEvent:
    data = json.loads(text)
    data["impression"] = tuple(data.get("impression") or ())
    return StoredEvent(**data)


def tombstone(user_id: str, deleted_at: float) -> StoredEvent:
    """The marker of a user's data deletion, as user_events returns it."""
    return StoredEvent(user_id=user_id, event_id="", event_type="", timestamp=deleted_at, session_id="",
                       tombstone=True)


def check_batch(what: str, count: int) -> None:
    if count > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} {what} are stored at once; got {count}")


def unique_events(group_arn: str, events: Sequence[StoredEvent]) -> dict[tuple[str, str], StoredEvent]:
    """The batch by storage key; a repeated event (same key) is kept once, the last one winning."""
    check_batch("events", len(events))
    return {(event_pk(group_arn, e.user_id), event_sk(e)): e for e in events}


def unique_records(records: Sequence[StoredRecord]) -> dict[str, StoredRecord]:
    """The batch by id; a repeated id is kept once, the last one winning (as if put one after the other)."""
    check_batch("records", len(records))
    return {r.record_id: r for r in records}


def next_put_at(now: float, previous: Sequence[float]) -> float:
    """The batch's put time: now, but always after the versions it replaces, so a clock that runs behind on another
    machine cannot file a newer version before an older one in the put log."""
    return round(max([now, *(p + 0.001 for p in previous)]), 3)


_BATCH_ATTEMPTS = 6


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoEventStore:
    def __init__(self, client: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self._ddb = client
        self._table = table
        self._clock = clock

    def _key(self, pk: str, sk: str) -> dict[str, Any]:
        return {config.EVENTS_PK: _s(pk), config.EVENTS_SK: _s(sk)}

    # -- events

    def put_events(self, group_arn: str, events: Sequence[StoredEvent]) -> None:
        batch = unique_events(group_arn, events)
        items = [{**self._key(pk, sk), "d": _s(encode_event(e))} for (pk, sk), e in batch.items()]
        if len(items) == 1:
            self._ddb.put_item(TableName=self._table, Item=items[0])
            return
        # One BatchWriteItem, not a transaction: half the write cost, and moto (local mode) copies every table on
        # each transaction, which made a busy local events table slower with every event. Nothing is written before
        # the whole batch has been validated; should DynamoDB fail part-way, the call fails and its retry rewrites
        # the same keys, so the batch ends stored exactly once.
        self._write_batch([{"PutRequest": {"Item": item}} for item in items], "events",
                          "retry the call (it stores each event once)")

    def _write_batch(self, requests: list[dict[str, Any]], what: str, advice: str) -> None:
        """BatchWriteItem in chunks of 25, retrying what DynamoDB leaves unprocessed (with backoff)."""
        for start in range(0, len(requests), _BATCH_WRITE):
            pending = requests[start : start + _BATCH_WRITE]
            for attempt in range(_BATCH_ATTEMPTS):
                if not pending:
                    break
                if attempt:
                    time.sleep(min(0.05 * 2**attempt, 1.0))
                resp = self._ddb.batch_write_item(RequestItems={self._table: pending})
                pending = (resp.get("UnprocessedItems") or {}).get(self._table, [])
            if pending:
                raise RuntimeError(f"DynamoDB left {len(pending)} of {len(requests)} {what} unwritten after "
                                   f"{_BATCH_ATTEMPTS} attempts; {advice}")

    def user_events(self, group_arn: str, user_id: str, limit: int, include_tombstone: bool = False,
                    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": config.EVENTS_PK},
            "ExpressionAttributeValues": {":pk": _s(event_pk(group_arn, user_id))},
            "ScanIndexForward": False,  # newest first
            "ConsistentRead": True,  # the next recommendation request must see an event PutEvents just stored
        }
        # One item more than asked for: the tombstone, if there is one, comes first (its key sorts last).
        wanted = limit + 1
        items: list[Mapping[str, Any]] = []
        while len(items) < wanted:
            resp = self._ddb.query(**kwargs, Limit=wanted - len(items))
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        marker = None
        if items and items[0][config.EVENTS_SK]["S"] == TOMBSTONE_SK:
            marker = tombstone(user_id, float(json.loads(items.pop(0)["d"]["S"])["deleted_at"]))
        events = [decode_event(item["d"]["S"]) for item in reversed(items[:limit])]
        if include_tombstone and marker is not None:
            events.append(marker)
        return events

    def delete_user(self, group_arn: str, user_id: str, deleted_at: float) -> int:
        pk = event_pk(group_arn, user_id)
        # The tombstone first: from now on the runtime ignores what a model trained earlier holds of the user, even
        # should the deletion below fail part-way (a new job then deletes the rest).
        self._ddb.put_item(TableName=self._table, Item={
            **self._key(pk, TOMBSTONE_SK), "d": _s(json.dumps({"deleted_at": deleted_at}))})
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {"#pk": config.EVENTS_PK, "#sk": config.EVENTS_SK},
            "ExpressionAttributeValues": {":pk": _s(pk)},
            "ConsistentRead": True,
        }
        deleted = 0
        while True:
            resp = self._ddb.query(**kwargs)
            keys = [item for item in resp.get("Items", []) if item[config.EVENTS_SK]["S"] != TOMBSTONE_SK]
            self._write_batch([{"DeleteRequest": {"Key": key}} for key in keys], "event deletions",
                              "run the data deletion again")
            deleted += len(keys)
            if "LastEvaluatedKey" not in resp:
                return deleted
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def group_events(self, group_arn: str) -> Iterator[StoredEvent]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(#pk, :prefix)",
            "ExpressionAttributeNames": {"#pk": config.EVENTS_PK},
            "ExpressionAttributeValues": {":prefix": _s(event_pk(group_arn, ""))},
            "ConsistentRead": True,
        }
        while True:
            resp = self._ddb.scan(**kwargs)
            for item in resp.get("Items", []):
                if item[config.EVENTS_SK]["S"] != TOMBSTONE_SK:
                    yield decode_event(item["d"]["S"])
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    # -- items and users

    def put_records(self, dataset_arn: str, records: Sequence[StoredRecord]) -> float:
        batch = unique_records(records)
        payloads = {rid: json.dumps(dict(r.properties), separators=(",", ":")) for rid, r in batch.items()}
        for _ in range(_MAX_RETRIES):
            previous = self._put_times(dataset_arn, list(batch))
            put_at = next_put_at(self._clock(), list(previous.values()))
            if not batch:
                return put_at
            writes: list[dict[str, Any]] = []
            for rid, payload in payloads.items():
                attrs = {"d": _s(payload), "at": {"N": f"{put_at:.3f}"}, "id": _s(rid)}
                item = {**self._key(record_pk(dataset_arn), rid), **attrs}
                put: dict[str, Any] = {"TableName": self._table, "Item": item}
                old = previous.get(rid)
                if old is None:
                    put["ConditionExpression"] = f"attribute_not_exists({config.EVENTS_PK})"
                else:
                    put["ConditionExpression"] = "#at = :at"
                    put["ExpressionAttributeNames"] = {"#at": "at"}
                    put["ExpressionAttributeValues"] = {":at": {"N": f"{old:.3f}"}}
                writes.append({"Put": put})
                log_item = {**self._key(log_pk(dataset_arn), f"{time_key(put_at)}#{rid}"), **attrs}
                writes.append({"Put": {"TableName": self._table, "Item": log_item}})
                if old is not None:
                    old_key = self._key(log_pk(dataset_arn), f"{time_key(old)}#{rid}")
                    writes.append({"Delete": {"TableName": self._table, "Key": old_key}})
            try:
                self._ddb.transact_write_items(TransactItems=writes)
                return put_at
            except ClientError as err:
                if not _lost_race(err):
                    raise
        raise ResourceInUseException(f"Records of {dataset_arn} are being put concurrently; try again")

    def _put_times(self, dataset_arn: str, record_ids: Sequence[str]) -> dict[str, float]:
        return {rid: at for rid, (at, _) in self._read_records(dataset_arn, record_ids).items()}

    def _read_records(self, dataset_arn: str, record_ids: Sequence[str]) -> dict[str, tuple[float, str]]:
        """id -> (put_at, payload) of the stored records among `record_ids`."""
        ids = list(dict.fromkeys(record_ids))
        found: dict[str, tuple[float, str]] = {}
        pk = record_pk(dataset_arn)
        for start in range(0, len(ids), _BATCH_GET):
            request: dict[str, Any] = {
                self._table: {"Keys": [self._key(pk, rid) for rid in ids[start : start + _BATCH_GET]],
                              "ConsistentRead": True}
            }
            while request:
                resp = self._ddb.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self._table, []):
                    found[item[config.EVENTS_SK]["S"]] = (float(item["at"]["N"]), item["d"]["S"])
                request = resp.get("UnprocessedKeys") or {}
        return found

    def get_records(self, dataset_arn: str, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
        return {
            rid: StoredRecord(rid, json.loads(payload), put_at)
            for rid, (put_at, payload) in self._read_records(dataset_arn, record_ids).items()
        }

    def records_since(self, dataset_arn: str, since: float) -> list[StoredRecord]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND #sk >= :since",
            "ExpressionAttributeNames": {"#pk": config.EVENTS_PK, "#sk": config.EVENTS_SK},
            "ExpressionAttributeValues": {
                ":pk": _s(log_pk(dataset_arn)),
                ":since": _s(time_key(round(max(since, 0.0), 3))),
            },
            "ConsistentRead": True,
        }
        latest: dict[str, StoredRecord] = {}
        while True:
            resp = self._ddb.query(**kwargs)
            for item in resp.get("Items", []):
                record = StoredRecord(item["id"]["S"], json.loads(item["d"]["S"]), float(item["at"]["N"]))
                latest.pop(record.record_id, None)  # defensive: the log holds one entry per id
                latest[record.record_id] = record
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return list(latest.values())

    def delete_records(self, dataset_arn: str, record_ids: Sequence[str]) -> int:
        # Each record has two items: its latest version and that version's entry in the put log.
        found = self._put_times(dataset_arn, record_ids)
        keys = []
        for rid, put_at in found.items():
            keys.append(self._key(record_pk(dataset_arn), rid))
            keys.append(self._key(log_pk(dataset_arn), f"{time_key(put_at)}#{rid}"))
        self._write_batch([{"DeleteRequest": {"Key": key}} for key in keys], "record deletions",
                          "run the data deletion again")
        return len(found)


def _lost_race(err: ClientError) -> bool:
    """A transaction cancelled because a record changed since it was read (another put of the same id)."""
    if err.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = err.response.get("CancellationReasons") or []
    return any(r.get("Code") in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
