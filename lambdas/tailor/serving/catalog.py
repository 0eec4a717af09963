"""What the runtime knows of items and users beyond the model: the Items and Users datasets as imported now, plus the
records put since with PutItems / PutUsers. Filters, metadata and exploration read them.

Items the model was not trained on (imported or put after training) join the catalog after the model's own items:
they can be filtered, returned with metadata and explored, and score like an item without events.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from tailor.filters.evaluate import PreparedText
from tailor.ports import Resource, StoredRecord
from tailor.service import Service
from tailor.serving.model import ServedModel
from tailor.snapshot import Snapshot, read_snapshot
from tailor.training.data import aligned_values, id_rows

MAX_SNAPSHOTS = 4
MAX_CATALOGS = 8  # (model, Items dataset) pairs kept
# PutItems records are read again from a little before the newest one already seen, so a record another process
# stored with a slightly slower clock is not missed.
CLOCK_SKEW_SECONDS = 5.0


@dataclass(frozen=True, eq=False)
class Catalog:
    item_ids: np.ndarray  # str: the model's items (same indices), then the items it does not know
    index: Mapping[str, int]
    n_model: int
    columns: Mapping[str, np.ndarray]  # Items fields but ITEM_ID, aligned: str ('' = missing) or float64 (NaN)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def created(self) -> np.ndarray | None:
        return self.columns.get("CREATION_TIMESTAMP")

    @cached_property
    def filter_columns(self) -> dict[str, np.ndarray | PreparedText]:
        """The columns as filters read them: text ones indexed once for every request's IN / NOT IN."""
        return {name: PreparedText(c) if c.dtype.kind == "U" else c for name, c in self.columns.items()}


def _lock(svc: Service, name: str) -> threading.Lock:
    lock: threading.Lock = svc.cache.setdefault(f"{name}.lock", threading.Lock())
    return lock


def _snapshot(svc: Service, uri: str) -> Snapshot:
    with _lock(svc, "snapshots"):
        cached: OrderedDict[str, Snapshot] = svc.cache.setdefault("snapshots", OrderedDict())
        if uri in cached:
            cached.move_to_end(uri)
            return cached[uri]
        snap = read_snapshot(svc.blobs, uri)
        cached[uri] = snap
        while len(cached) > MAX_SNAPSHOTS:
            cached.popitem(last=False)
        return snap


def put_records(svc: Service, dataset_arn: str) -> tuple[Mapping[str, StoredRecord], int]:
    """Every record put into a dataset with PutItems / PutUsers (the latest per id) and a version number that changes
    when they do. Read again at most every `svc.cache_seconds`, and then only what was put since."""
    with _lock(svc, f"put.{dataset_arn}"):
        state: dict[str, Any] = svc.cache.setdefault(
            f"put.{dataset_arn}", {"records": {}, "seen": 0.0, "polled": -math.inf, "version": 0}
        )
        now = time.monotonic()
        if now - state["polled"] >= svc.cache_seconds:
            records: dict[str, StoredRecord] = state["records"]
            since = max(0.0, state["seen"] - CLOCK_SKEW_SECONDS) if records else 0.0
            changed = False
            for record in svc.events.records_since(dataset_arn, since):
                old = records.get(record.record_id)
                if old is None or (record.put_at >= old.put_at and record.properties != old.properties):
                    records[record.record_id] = record
                    changed = True
                state["seen"] = max(state["seen"], record.put_at)
            state["version"] += int(changed)
            state["polled"] = now
        return state["records"], state["version"]


def _base_columns(model: ServedModel, snap: Snapshot | None) -> tuple[list[str], dict[str, np.ndarray]]:
    """(ids of imported items the model does not know, the Items columns over model items + those)."""
    if snap is None or "ITEM_ID" not in snap.columns or snap.columns["ITEM_ID"].vocab is None:
        return [], {}
    rows, ids = id_rows(snap.columns["ITEM_ID"])
    index = np.fromiter((model.item_index.get(i, -1) for i in ids.tolist()), dtype=np.int64, count=len(ids))
    unknown = index < 0
    extra = ids[unknown].tolist()
    index[unknown] = model.n_items + np.arange(len(extra))
    n = model.n_items + len(extra)
    columns = {
        f.name: aligned_values(snap.columns[f.name], rows, index, n) for f in snap.schema_fields if f.name != "ITEM_ID"
    }
    return extra, columns


def _widened(column: np.ndarray, length: int, values: Sequence[Any]) -> np.ndarray:
    """`column` padded to `length` with missing values, wide enough (strings) for `values`."""
    if column.dtype.kind == "U":
        width = max([column.dtype.itemsize // 4, 1, *(len(str(v)) for v in values if isinstance(v, str))])
        out = np.full(length, "", dtype=f"<U{width}")
    else:
        out = np.full(length, np.nan, dtype=np.float64)
    out[: len(column)] = column
    return out


def _value(value: Any, text: bool) -> Any:
    if text:
        return "" if value is None else str(value)
    if value is None or isinstance(value, str):
        return math.nan
    return float(value)


def item_catalog(svc: Service, model: ServedModel, items_dataset: Resource | None) -> Catalog:
    """The model's items plus every item imported or put since, with their current Items fields."""
    snap_uri = items_dataset.internal.get("snapshot") if items_dataset is not None else None
    records: Mapping[str, StoredRecord] = {}
    version = 0
    if items_dataset is not None:
        records, version = put_records(svc, items_dataset.arn)
    slot = (model.uri, items_dataset.arn if items_dataset else None)
    key = (snap_uri, version)
    with _lock(svc, "catalogs"):
        catalogs: OrderedDict[Any, tuple[Any, Any, Catalog]] = svc.cache.setdefault("catalogs", OrderedDict())
        cached = catalogs.get(slot)
    if cached is not None and cached[0] == key:
        return cached[2]
    if cached is not None and cached[1][0] == snap_uri:
        base = cached[1]  # only the put records changed: the imported part is reused
    else:
        snap = _snapshot(svc, snap_uri) if snap_uri else None
        base = (snap_uri, _base_columns(model, snap))
    extra, base_columns = base[1]
    ids = [*model.item_ids.tolist(), *extra]
    index = dict(model.item_index)
    index.update((item, model.n_items + i) for i, item in enumerate(extra))
    columns = dict(base_columns)
    if records:
        for item in records:
            if item not in index:
                index[item] = len(ids)
                ids.append(item)
        fields: dict[str, list[tuple[int, Any]]] = {}
        for item, record in records.items():
            for name, value in record.properties.items():
                fields.setdefault(name, []).append((index[item], value))
        for name, updates in fields.items():
            text = name in columns and columns[name].dtype.kind == "U"
            if name not in columns:
                text = any(isinstance(v, str) for _, v in updates)
                columns[name] = np.zeros(0, dtype="<U1" if text else np.float64)
            column = _widened(columns[name], len(ids), [v for _, v in updates])
            for position, value in updates:
                column[position] = _value(value, text)
            columns[name] = column
    n = len(ids)
    for name, column in list(columns.items()):
        if len(column) < n:
            columns[name] = _widened(column, n, ())
    catalog = Catalog(item_ids=np.array(ids, dtype=np.str_), index=index, n_model=model.n_items, columns=columns)
    with _lock(svc, "catalogs"):
        catalogs[slot] = (key, base, catalog)
        catalogs.move_to_end(slot)
        while len(catalogs) > MAX_CATALOGS:
            catalogs.popitem(last=False)
    return catalog


def user_fields(svc: Service, users_dataset: Resource | None, user_id: str) -> dict[str, str | float]:
    """The user's Users fields (imported, overlaid with what PutUsers stored), missing values left out: what a
    filter's `IF CurrentUser.FIELD` reads."""
    if users_dataset is None:
        return {}
    found: dict[str, str | float] = {}
    snap_uri = users_dataset.internal.get("snapshot")
    if snap_uri:
        rows = _user_rows(svc, snap_uri)
        row = rows.get(user_id)
        if row is not None:
            snap = _snapshot(svc, snap_uri)
            for f in snap.schema_fields:
                if f.name == "USER_ID":
                    continue
                value = aligned_values(snap.columns[f.name], np.array([row]), np.array([0]), 1)[0]
                found[f.name] = str(value) if isinstance(value, str) else float(value)
    record = svc.events.get_records(users_dataset.arn, [user_id]).get(user_id)
    if record is not None:
        found.update({k: v for k, v in record.properties.items() if v is not None})
    return {k: v for k, v in found.items() if v != "" and not (isinstance(v, float) and math.isnan(v))}


def _user_rows(svc: Service, uri: str) -> dict[str, int]:
    with _lock(svc, "user-rows"):
        cached = svc.cache.get("user-rows")
        if cached is not None and cached[0] == uri:
            return cached[1]
    snap = _snapshot(svc, uri)
    rows, ids = id_rows(snap.columns["USER_ID"]) if "USER_ID" in snap.columns else (np.zeros(0, np.int64), [])
    mapping = dict(zip(np.asarray(ids).tolist(), rows.tolist(), strict=True))
    with _lock(svc, "user-rows"):
        svc.cache["user-rows"] = (uri, mapping)
    return mapping
