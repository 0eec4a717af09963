"""In-memory blob and event stores for unit tests and benchmarks of code that reads and writes them."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import IO

from tailor.adapters.events import event_sk, next_put_at, tombstone, unique_events, unique_records
from tailor.ports import StoredEvent, StoredRecord


class MemoryBlobStore:
    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def open(self, uri: str) -> IO[bytes]:
        with self._lock:
            if uri not in self._objects:
                raise FileNotFoundError(uri)
            return io.BytesIO(self._objects[uri])

    def open_seekable(self, uri: str) -> IO[bytes]:
        return self.open(uri)  # a BytesIO over the stored bytes: shared, not copied, unless written to

    def put(self, uri: str, data: bytes) -> None:
        with self._lock:
            self._objects[uri] = bytes(data)

    @contextmanager
    def create(self, uri: str) -> Iterator[IO[bytes]]:
        buffer = io.BytesIO()
        yield buffer
        self.put(uri, buffer.getvalue())

    def list(self, uri_prefix: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(uri_prefix))
        yield from keys

    def delete(self, uri: str) -> None:
        with self._lock:
            self._objects.pop(uri, None)


class MemoryEventStore:
    """The EventStore of tailor.adapters.events.DynamoEventStore, held in dictionaries: same keys (a retried event is
    stored once, events of a user in time order), same put times and batch limits; every call is atomic."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # group -> user -> event sort key -> event
        self._events: dict[str, dict[str, dict[str, StoredEvent]]] = {}
        # dataset -> record id -> latest record
        self._records: dict[str, dict[str, StoredRecord]] = {}
        # group -> user -> when a data deletion job last deleted the user's data
        self._tombstones: dict[str, dict[str, float]] = {}

    def put_events(self, group_arn: str, events: Sequence[StoredEvent]) -> None:
        batch = unique_events(group_arn, events)
        stored = [replace(e, properties=dict(e.properties), impression=tuple(e.impression)) for e in batch.values()]
        with self._lock:
            users = self._events.setdefault(group_arn, {})
            for event in stored:
                users.setdefault(event.user_id, {})[event_sk(event)] = event

    def user_events(self, group_arn: str, user_id: str, limit: int, include_tombstone: bool = False,
                    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        with self._lock:
            events = self._events.get(group_arn, {}).get(user_id, {})
            found = [events[k] for k in sorted(events)[-limit:]]
            deleted_at = self._tombstones.get(group_arn, {}).get(user_id)
        if include_tombstone and deleted_at is not None:
            found.append(tombstone(user_id, deleted_at))
        return found

    def delete_user(self, group_arn: str, user_id: str, deleted_at: float) -> int:
        with self._lock:
            self._tombstones.setdefault(group_arn, {})[user_id] = deleted_at
            return len(self._events.get(group_arn, {}).pop(user_id, {}))

    def group_events(self, group_arn: str) -> Iterator[StoredEvent]:
        with self._lock:
            events = [e for user in self._events.get(group_arn, {}).values() for e in user.values()]
        yield from events

    def put_records(self, dataset_arn: str, records: Sequence[StoredRecord]) -> float:
        batch = unique_records(records)
        with self._lock:
            stored = self._records.setdefault(dataset_arn, {})
            put_at = next_put_at(self._clock(), [stored[rid].put_at for rid in batch if rid in stored])
            for rid, record in batch.items():
                stored.pop(rid, None)  # re-inserted last: the dict stays in put order
                stored[rid] = StoredRecord(rid, dict(record.properties), put_at)
            return put_at

    def get_records(self, dataset_arn: str, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
        with self._lock:
            stored = self._records.get(dataset_arn, {})
            return {rid: stored[rid] for rid in record_ids if rid in stored}

    def records_since(self, dataset_arn: str, since: float) -> list[StoredRecord]:
        with self._lock:
            records = list(self._records.get(dataset_arn, {}).values())
        since = round(max(since, 0.0), 3)  # put times are kept to the millisecond, as the DynamoDB log's keys are
        return sorted((r for r in records if r.put_at >= since), key=lambda r: (r.put_at, r.record_id))

    def delete_records(self, dataset_arn: str, record_ids: Sequence[str]) -> int:
        with self._lock:
            stored = self._records.get(dataset_arn, {})
            return sum(stored.pop(rid, None) is not None for rid in set(record_ids))
