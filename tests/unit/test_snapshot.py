"""Tests for the columnar dataset snapshot: storage round trip, concat and upsert."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from tailor.adapters.memory import MemoryBlobStore
from tailor.schemas import Field
from tailor.snapshot import (
    Column,
    Snapshot,
    column_values,
    concat,
    read_snapshot,
    upsert,
    write_snapshot,
)

ITEM_FIELDS = (
    Field("ITEM_ID", "string"),
    Field("GENRES", "string", nullable=True, categorical=True),
    Field("PRICE", "double", nullable=True),
    Field("YEAR", "int"),
    Field("CREATION_TIMESTAMP", "long", nullable=True),
    Field("IN_STOCK", "boolean", nullable=True),
    Field("DESCRIPTION", "string", nullable=True, textual=True),
)


def strings(values: list[str | None]) -> Column:
    vocab = list(dict.fromkeys(v for v in values if v is not None))
    codes = [-1 if v is None else vocab.index(v) for v in values]
    return Column(np.array(codes, dtype=np.int32), vocab=np.array(vocab, dtype=np.str_))


def numbers(values: list[float | int | None], dtype: type, nullable: bool) -> Column:
    mask = np.array([v is None for v in values], dtype=bool)
    data: np.ndarray = np.array([0 if v is None else v for v in values], dtype=dtype)
    return Column(data, mask=mask if nullable else None)


def booleans(values: list[bool | None]) -> Column:
    return Column(np.array([-1 if v is None else int(v) for v in values], dtype=np.int8))


def items(rows: list[tuple]) -> Snapshot:
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(ITEM_FIELDS)
    return Snapshot(
        ITEM_FIELDS,
        {
            "ITEM_ID": strings(list(cols[0])),
            "GENRES": strings(list(cols[1])),
            "PRICE": numbers(list(cols[2]), np.float64, True),
            "YEAR": numbers(list(cols[3]), np.int64, False),
            "CREATION_TIMESTAMP": numbers(list(cols[4]), np.int64, True),
            "IN_STOCK": booleans(list(cols[5])),
            "DESCRIPTION": strings(list(cols[6])),
        },
        len(rows),
    )


ROWS = [
    ("i1", "Comedy|Drama", 9.5, 1999, 1700000000, True, "A film — with ünïcode"),
    ("i2", None, None, 2001, None, None, None),
    ("i3", "Horror", 0.25, 1980, 1700000500, False, ""),
]


def as_rows(snap: Snapshot) -> list[tuple]:
    return list(zip(*(column_values(snap, f.name) for f in snap.schema_fields), strict=True))


def test_round_trip_through_the_blob_store_without_pickle() -> None:
    blobs = MemoryBlobStore()
    snap = items(ROWS)
    write_snapshot(blobs, "s3://b/datasets/items.npz", snap)

    raw = blobs.open("s3://b/datasets/items.npz").read()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
        assert npz["ITEM_ID.codes"].dtype == np.int32
        assert npz["ITEM_ID.vocab"].dtype.kind == "U"
        assert npz["PRICE.values"].dtype == np.float64
        assert npz["IN_STOCK.values"].dtype == np.int8
        assert "YEAR.mask" not in npz.files  # not nullable: no mask
    assert len(zipfile.ZipFile(io.BytesIO(raw)).namelist()) > 1

    back = read_snapshot(blobs, "s3://b/datasets/items.npz")
    assert back.schema_fields == ITEM_FIELDS
    assert back.n_rows == 3
    assert as_rows(back) == ROWS


def test_round_trip_of_an_empty_snapshot() -> None:
    blobs = MemoryBlobStore()
    write_snapshot(blobs, "s3://b/empty.npz", Snapshot.empty(ITEM_FIELDS))
    back = read_snapshot(blobs, "s3://b/empty.npz")
    assert back.n_rows == 0
    assert all(column_values(back, f.name) == [] for f in ITEM_FIELDS)


def test_read_missing_snapshot_raises_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        read_snapshot(MemoryBlobStore(), "s3://b/nothing.npz")


def test_snapshot_rejects_malformed_columns() -> None:
    good = items(ROWS)
    with pytest.raises(ValueError, match="YEAR"):
        Snapshot(ITEM_FIELDS, {**good.columns, "YEAR": Column(np.zeros(3, dtype=np.float64))}, 3)
    with pytest.raises(ValueError, match="ITEM_ID"):
        Snapshot(ITEM_FIELDS, {**good.columns, "ITEM_ID": Column(np.zeros(2, dtype=np.int32))}, 3)
    with pytest.raises(ValueError, match="do not match"):
        Snapshot(ITEM_FIELDS[:2], good.columns, 3)


def test_null_mask_per_kind() -> None:
    snap = items(ROWS)
    for name in ("GENRES", "PRICE", "CREATION_TIMESTAMP", "IN_STOCK", "DESCRIPTION"):
        assert snap.columns[name].null_mask().tolist() == [False, True, False], name
    assert snap.columns["YEAR"].null_mask().tolist() == [False, False, False]


def test_concat_reencodes_vocabularies() -> None:
    a = items(ROWS[:2])
    b = items([ROWS[2], ("i1", "Drama", 1.0, 2020, 5, True, "again")])
    both = concat(a, b)
    assert both.n_rows == 4
    assert as_rows(both) == [*ROWS, ("i1", "Drama", 1.0, 2020, 5, True, "again")]
    vocab = both.columns["ITEM_ID"].vocab
    assert vocab is not None
    assert sorted(vocab.tolist()) == ["i1", "i2", "i3"]  # one entry per distinct value


def test_concat_with_empty_sides() -> None:
    snap = items(ROWS)
    empty = Snapshot.empty(ITEM_FIELDS)
    assert as_rows(concat(empty, snap)) == ROWS
    assert as_rows(concat(snap, empty)) == ROWS


def test_concat_refuses_different_fields() -> None:
    other = Snapshot.empty((Field("ITEM_ID", "string"), Field("X", "long")))
    with pytest.raises(ValueError, match="different fields"):
        concat(items(ROWS), other)


def test_upsert_replaces_by_id_and_keeps_the_rest() -> None:
    old = items(ROWS)
    new = items(
        [
            ("i2", "Action", 3.0, 2002, 10, True, "first i2"),
            ("i9", None, None, 2010, None, None, None),
            ("i2", "Western", 4.0, 2003, 11, False, "second i2"),
        ]
    )
    merged = upsert(old, new, "ITEM_ID")
    assert as_rows(merged) == [
        ROWS[0],
        ROWS[2],
        ("i9", None, None, 2010, None, None, None),
        ("i2", "Western", 4.0, 2003, 11, False, "second i2"),  # the later row in `new` wins
    ]
    # Values only the replaced rows used are dropped from the vocabularies.
    genres = merged.columns["GENRES"].vocab
    assert genres is not None
    assert "Action" not in genres.tolist()


def test_upsert_into_empty_deduplicates() -> None:
    new = items([ROWS[0], ROWS[1], ("i1", "X", 1.0, 1, 1, True, "d")])
    merged = upsert(Snapshot.empty(ITEM_FIELDS), new, "ITEM_ID")
    assert column_values(merged, "ITEM_ID") == ["i2", "i1"]
    assert column_values(merged, "GENRES") == [None, "X"]
