"""A dataset as training sees it: what was imported in bulk plus what was put in real time (PutEvents, PutItems,
PutUsers), as in Personalize, where both feed the next solution version and both count toward the minimums.

The streamed records are written out as the dataset's own CSV and read back by the import code, so they go through
exactly the conversions and checks a bulk import applies, and merge the way an INCREMENTAL import does (interactions
appended; items and users replacing the imported row with the same id).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from tailor.adapters.memory import MemoryBlobStore
from tailor.imports import ENTITY_ID_FIELD, import_csv
from tailor.ports import Resource, StoredEvent, StoredRecord
from tailor.schemas import Field, Schema
from tailor.service import Service
from tailor.snapshot import Snapshot

_STAGING = "s3://tailor-staging/streamed.csv"


def _cell(f: Field, value: Any) -> str:
    if value is None:
        return ""
    if f.type == "boolean":
        return "true" if value else "false"
    if f.type in ("int", "long") and isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _event_row(event: StoredEvent) -> dict[str, Any]:
    row: dict[str, Any] = dict(event.properties)
    row.update(USER_ID=event.user_id, ITEM_ID=event.item_id, TIMESTAMP=int(event.timestamp),
               EVENT_TYPE=event.event_type, EVENT_VALUE=event.event_value,
               RECOMMENDATION_ID=event.recommendation_id, IMPRESSION="|".join(event.impression) or None)
    return row


def _record_row(record: StoredRecord, id_field: str) -> dict[str, Any]:
    return {**record.properties, id_field: record.record_id}


def _merge(schema: Schema, dataset_type: str, rows: Iterable[Mapping[str, Any]], previous: Snapshot | None,
           ) -> Snapshot | None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(schema.field_names)
    count = 0
    for row in rows:
        writer.writerow([_cell(f, row.get(f.name)) for f in schema.fields])
        count += 1
    if count == 0:
        return previous
    staging = MemoryBlobStore()
    staging.put(_STAGING, text.getvalue().encode())
    merged, _ = import_csv(staging, _STAGING, schema, dataset_type, "INCREMENTAL", previous)
    return merged


def with_streamed(svc: Service, dataset: Resource, schema: Schema, bulk: Snapshot | None) -> Snapshot | None:
    """`bulk` (the dataset's imported snapshot, None if nothing was imported) plus what was put in real time."""
    dataset_type = dataset.doc["datasetType"]
    if dataset_type == "INTERACTIONS":
        events = svc.events.group_events(dataset.doc["datasetGroupArn"])
        ordered = sorted(events, key=lambda e: (e.timestamp, e.user_id, e.event_id))
        return _merge(schema, dataset_type, (_event_row(e) for e in ordered), bulk)
    id_field = ENTITY_ID_FIELD.get(dataset_type)
    if id_field is None:
        return bulk
    records = svc.events.records_since(dataset.arn, 0.0)
    return _merge(schema, dataset_type, (_record_row(r, id_field) for r in records), bulk)
