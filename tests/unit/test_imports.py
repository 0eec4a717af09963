"""Tests for the CSV dataset import: type checks, failure reasons, file discovery and import modes."""

from __future__ import annotations

import pytest

from tailor.adapters.memory import MemoryBlobStore
from tailor.imports import DroppedRows, ImportFailed, ImportResult, import_csv
from tailor.schemas import Field, Schema
from tailor.snapshot import Snapshot, column_values

INTERACTIONS = Schema(
    "Interactions",
    (
        Field("USER_ID", "string"),
        Field("ITEM_ID", "string"),
        Field("TIMESTAMP", "long"),
        Field("EVENT_TYPE", "string"),
        Field("EVENT_VALUE", "float", nullable=True),
    ),
)
ITEMS = Schema(
    "Items",
    (
        Field("ITEM_ID", "string"),
        Field("GENRES", "string", nullable=True, categorical=True),
        Field("PRICE", "double", nullable=True),
        Field("IN_STOCK", "boolean"),
        Field("RANK", "int", nullable=True),
        Field("DESCRIPTION", "string", nullable=True, textual=True),
    ),
)
USERS = Schema(
    "Users",
    (Field("USER_ID", "string"), Field("AGE", "int"), Field("MEMBERSHIP", "string", categorical=True)),
)

INTERACTIONS_CSV = """USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE
u1,i1,1700000000,click,
u2,i1,1700000060,purchase,4.5
u1,i2,1700000120,click,1
"""
ITEMS_CSV = """ITEM_ID,GENRES,PRICE,IN_STOCK,RANK,DESCRIPTION
i1,Comedy|Drama,9.99,true,1,"A film, with a comma"
i2,,,FALSE,,
i3,Horror,0.5,True,-3,"Two
lines"
"""


def store(**objects: str) -> MemoryBlobStore:
    """A blob store with objects named by key (double underscores stand for slashes) in bucket b."""
    blobs = MemoryBlobStore()
    for key, text in objects.items():
        blobs.put(f"s3://b/{key.replace('__', '/')}.csv", text.encode())
    return blobs


def run(
    blobs: MemoryBlobStore,
    location: str,
    schema: Schema = INTERACTIONS,
    dataset_type: str = "INTERACTIONS",
    mode: str = "FULL",
    previous: Snapshot | None = None,
) -> tuple[Snapshot, ImportResult]:
    return import_csv(blobs, location, schema, dataset_type, mode, previous)


def failure(blobs: MemoryBlobStore, location: str, schema: Schema = INTERACTIONS, **kw: object) -> str:
    with pytest.raises(ImportFailed) as info:
        run(blobs, location, schema, **kw)  # type: ignore[arg-type]
    assert str(info.value) == info.value.reason
    return info.value.reason


# ---- happy paths ----------------------------------------------------------------------------------


def test_interactions() -> None:
    snap, result = run(store(interactions=INTERACTIONS_CSV), "s3://b/interactions.csv")
    assert result == ImportResult(rows=3, files=1)
    assert snap.n_rows == 3
    assert snap.schema_fields == INTERACTIONS.fields
    assert column_values(snap, "USER_ID") == ["u1", "u2", "u1"]
    assert column_values(snap, "TIMESTAMP") == [1700000000, 1700000060, 1700000120]
    assert column_values(snap, "EVENT_VALUE") == [None, 4.5, 1.0]
    assert snap.columns["USER_ID"].vocab.tolist() == ["u1", "u2"]  # type: ignore[union-attr]


def test_items_with_multi_values_nulls_quotes_and_booleans() -> None:
    snap, result = run(store(items=ITEMS_CSV), "s3://b/items.csv", ITEMS, "ITEMS")
    assert result.rows == 3
    assert column_values(snap, "ITEM_ID") == ["i1", "i2", "i3"]
    assert column_values(snap, "GENRES") == ["Comedy|Drama", None, "Horror"]  # split at training time
    assert column_values(snap, "PRICE") == [9.99, None, 0.5]
    assert column_values(snap, "IN_STOCK") == [True, False, True]
    assert column_values(snap, "RANK") == [1, None, -3]
    assert column_values(snap, "DESCRIPTION") == ["A film, with a comma", None, "Two\nlines"]


def test_users_with_bom_crlf_and_padded_header() -> None:
    text = "\ufeffUSER_ID, AGE ,MEMBERSHIP\r\nu1,31,gold\r\nu2,45,silver|early\r\n"
    blobs = MemoryBlobStore()
    blobs.put("s3://b/users.csv", text.encode("utf-8"))
    snap, _ = run(blobs, "s3://b/users.csv", USERS, "USERS")
    assert column_values(snap, "USER_ID") == ["u1", "u2"]
    assert column_values(snap, "AGE") == [31, 45]
    assert column_values(snap, "MEMBERSHIP") == ["gold", "silver|early"]


def test_header_only_file_imports_no_rows() -> None:
    snap, result = run(store(i="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"), "s3://b/i.csv")
    assert (snap.n_rows, result.rows) == (0, 0)


def test_blank_lines_are_skipped() -> None:
    text = INTERACTIONS_CSV.replace("\nu2", "\n\nu2") + "\n"
    snap, _ = run(store(i=text), "s3://b/i.csv")
    assert snap.n_rows == 3


def test_prefix_import_reads_every_file_in_key_order() -> None:
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    blobs = store(
        data__part2=header + "u3,i3,3,view,\n",
        data__part1=header + "u1,i1,1,view,\nu2,i2,2,view,\n",
        other=header + "x,x,9,view,\n",
    )
    blobs.put("s3://b/data/", b"")  # a console "folder" marker
    blobs.put("s3://b/data/_SUCCESS", b"")  # an empty marker file from a Spark job
    snap, result = run(blobs, "s3://b/data/")
    assert result == ImportResult(rows=3, files=2)
    assert column_values(snap, "USER_ID") == ["u1", "u2", "u3"]
    # The folder also works when named without its trailing slash.
    snap, _ = run(blobs, "s3://b/data")
    assert snap.n_rows == 3


def test_vocabulary_is_shared_across_files() -> None:
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    blobs = store(d__a=header + "u1,i1,1,view,\n", d__b=header + "u1,i2,2,view,\n")
    snap, _ = run(blobs, "s3://b/d/")
    assert snap.columns["USER_ID"].codes.tolist() == [0, 0]


# ---- modes ----------------------------------------------------------------------------------------


def test_full_replaces_and_incremental_appends_interactions() -> None:
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
    blobs = store(first=header + "u1,i1,1,view,\n", second=header + "u2,i2,2,view,\nu1,i1,1,view,\n")
    first, _ = run(blobs, "s3://b/first.csv")
    full, _ = run(blobs, "s3://b/second.csv", mode="FULL", previous=first)
    assert column_values(full, "USER_ID") == ["u2", "u1"]
    incremental, result = run(blobs, "s3://b/second.csv", mode="INCREMENTAL", previous=first)
    assert column_values(incremental, "USER_ID") == ["u1", "u2", "u1"]  # interactions are never merged
    assert result.rows == 2
    assert run(blobs, "s3://b/first.csv", mode="INCREMENTAL", previous=None)[0].n_rows == 1


def test_incremental_items_replace_rows_with_the_same_id() -> None:
    header = "ITEM_ID,GENRES,PRICE,IN_STOCK,RANK,DESCRIPTION\n"
    blobs = store(
        first=header + "i1,A,1,true,,\ni2,B,2,true,,\n",
        second=header + "i2,C,3,false,,\ni3,D,4,true,,\ni2,E,5,true,,\n",
    )
    first, _ = run(blobs, "s3://b/first.csv", ITEMS, "ITEMS")
    merged, _ = run(blobs, "s3://b/second.csv", ITEMS, "ITEMS", mode="INCREMENTAL", previous=first)
    assert column_values(merged, "ITEM_ID") == ["i1", "i3", "i2"]
    assert column_values(merged, "GENRES") == ["A", "D", "E"]  # the later i2 row wins
    full, _ = run(blobs, "s3://b/second.csv", ITEMS, "ITEMS", mode="FULL", previous=first)
    assert column_values(full, "ITEM_ID") == ["i3", "i2"]


def test_incremental_onto_data_with_another_schema_fails() -> None:
    previous, _ = run(store(i=INTERACTIONS_CSV), "s3://b/i.csv")
    other = Schema("Interactions", INTERACTIONS.fields[:4])
    blobs = store(j="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu,i,1,view\n")
    reason = failure(blobs, "s3://b/j.csv", other, mode="INCREMENTAL", previous=previous)
    assert "FULL" in reason and "EVENT_VALUE" in reason


# ---- failures -------------------------------------------------------------------------------------


def test_columns_are_matched_by_name_in_any_order_with_an_index_and_extra_columns() -> None:
    """As pandas writes them (`df.to_csv(path)`: an unnamed index column first) and as Personalize's recorded
    imports accept them: the rows are the same as with the schema's own header."""
    reordered = ",X,EVENT_TYPE,TIMESTAMP,ITEM_ID,EVENT_VALUE,USER_ID\n" + "".join(
        f"{n},x{n},{t},{ts},{i},{v},{u}\n" for n, (u, i, ts, t, v) in enumerate(
            line.split(",") for line in INTERACTIONS_CSV.splitlines()[1:]))
    snap, result = run(store(i=reordered), "s3://b/i.csv")
    expected, _ = run(store(i=INTERACTIONS_CSV), "s3://b/i.csv")
    assert result.rows == 3
    for name in ("USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"):
        assert column_values(snap, name) == column_values(expected, name)


def test_an_optional_column_left_out_is_null() -> None:
    snap, _ = run(store(i="ITEM_ID,USER_ID,TIMESTAMP,EVENT_TYPE\ni1,u1,1,view\n"), "s3://b/i.csv")
    assert column_values(snap, "EVENT_VALUE") == [None] and column_values(snap, "USER_ID") == ["u1"]


def test_a_missing_required_column_is_named() -> None:
    blobs = store(i="USER_ID,ITEM,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,1,view,\n")
    reason = failure(blobs, "s3://b/i.csv")
    assert "s3://b/i.csv" in reason
    assert "'USER_ID,ITEM,TIMESTAMP,EVENT_TYPE,EVENT_VALUE'" in reason
    assert "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE" in reason
    assert reason.endswith("the required column 'ITEM_ID' is missing")


def test_names_are_case_sensitive_and_a_column_named_twice_is_refused() -> None:
    reason = failure(store(i="user_id,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"), "s3://b/i.csv")
    assert "'USER_ID' (the header has 'user_id': names are case-sensitive) is missing" in reason
    reason = failure(store(i="USER_ID,ITEM_ID\n"), "s3://b/i.csv")
    assert "the required columns 'TIMESTAMP', 'EVENT_TYPE' are missing" in reason
    reason = failure(store(i="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,USER_ID\n"), "s3://b/i.csv")
    assert "column 'USER_ID' appears twice (columns 1 and 5)" in reason


def test_in_another_order_a_row_of_the_wrong_width_is_named_by_the_header() -> None:
    text = "ITEM_ID,USER_ID,TIMESTAMP,EVENT_TYPE\ni1,u1,1,view\ni2,u2,2\n"
    reason = failure(store(i=text), "s3://b/i.csv")
    assert reason == ("s3://b/i.csv line 3: 3 values but the header has 4 columns; column 'EVENT_TYPE' is missing")
    text = "ITEM_ID,USER_ID,TIMESTAMP,EVENT_TYPE\ni1,u1,x,view\ni0,u0,1,view\ni2,u2,2\n"  # a bad value is dropped
    assert failure(store(i=text), "s3://b/i.csv").startswith("s3://b/i.csv line 4: 3 values")


# ---- rows with a bad value: dropped and counted ---------------------------------------------------


def only_drop(blobs: MemoryBlobStore, location: str, schema: Schema = INTERACTIONS, **kw: object,
              ) -> tuple[Snapshot, DroppedRows]:
    """The import of a file with one kind of bad row: what it kept, and the one reason it dropped rows for."""
    snap, result = run(blobs, location, schema, **kw)  # type: ignore[arg-type]
    assert len(result.dropped) == 1, result.dropped
    assert snap.n_rows == result.rows
    return snap, result.dropped[0]


def test_non_numeric_timestamp() -> None:
    text = INTERACTIONS_CSV + "u3,i3,abc,click,\n"
    snap, drop = only_drop(store(interactions=text), "s3://b/interactions.csv")
    assert drop == DroppedRows("TIMESTAMP", "invalid", 1,
                               "s3://b/interactions.csv line 5, column TIMESTAMP: 'abc' is not a long (epoch seconds)")
    assert column_values(snap, "USER_ID") == ["u1", "u2", "u1"]
    assert "u3" not in column_values(snap, "USER_ID") and "i3" not in list(snap.columns["ITEM_ID"].vocab)


@pytest.mark.parametrize("value", ["1700000000.0", "1_700_000_000", "1e9", "99999999999999999999"])
def test_timestamp_must_be_a_plain_integer(value: str) -> None:
    _, drop = only_drop(store(i=INTERACTIONS_CSV + f"u3,i3,{value},click,\n"), "s3://b/i.csv")
    assert drop.first.startswith(f"s3://b/i.csv line 5, column TIMESTAMP: '{value}' is not a long")
    if value == "1700000000.0":
        assert "without a decimal point" in drop.first


def test_each_reason_is_counted_with_its_first_row() -> None:
    text = INTERACTIONS_CSV + "u3,i3,1,click,zero\nu4,i4,x,click,\nu5,i5,2,click,NaN\n"
    _, result = run(store(i=text), "s3://b/i.csv")
    assert [(d.column, d.problem, d.rows) for d in result.dropped] == [("EVENT_VALUE", "invalid", 2),
                                                                       ("TIMESTAMP", "invalid", 1)]
    assert result.dropped[0].first == "s3://b/i.csv line 5, column EVENT_VALUE: 'zero' is not a float"
    assert result.rows == 3 and result.rows_dropped == 3
    assert result.summary().startswith("dropped 3 of 6 rows: 2 with an invalid EVENT_VALUE (first: s3://b/i.csv "
                                       "line 5")


def test_line_numbers_count_quoted_line_breaks() -> None:
    text = ITEMS_CSV + "i4,X,1.0,maybe,,\n"
    _, drop = only_drop(store(items=text), "s3://b/items.csv", ITEMS, dataset_type="ITEMS")
    assert drop.first == "s3://b/items.csv line 6, column IN_STOCK: 'maybe' is not a boolean (true or false)"


def test_null_in_non_nullable_field() -> None:
    _, drop = only_drop(store(i=INTERACTIONS_CSV + ",i3,1,click,\n"), "s3://b/i.csv")
    assert (drop.column, drop.problem) == ("USER_ID", "empty")
    assert drop.first.startswith("s3://b/i.csv line 5, column USER_ID:") and "not nullable" in drop.first
    _, drop = only_drop(store(i=INTERACTIONS_CSV + "u,i3,,click,\n"), "s3://b/i.csv")
    assert drop.first.startswith("s3://b/i.csv line 5, column TIMESTAMP:") and "not nullable" in drop.first
    users = "USER_ID,AGE,MEMBERSHIP\nu1,3,gold\nu2,4,\n"
    snap, drop = only_drop(store(u=users), "s3://b/u.csv", USERS, dataset_type="USERS")
    assert drop.first.startswith("s3://b/u.csv line 3, column MEMBERSHIP:") and "not nullable" in drop.first
    assert column_values(snap, "USER_ID") == ["u1"]


def test_the_poc_item_metadata_imports_without_its_bad_years() -> None:
    """AWS's POC notebook writes YEAR (an `int`, not nullable) from movie titles: some are empty, one is a range.
    The recorded Personalize run imported it ACTIVE; Tailor keeps the other rows and counts the ones it left out."""
    schema = Schema("Items", (Field("ITEM_ID", "string"), Field("GENRE", "string", categorical=True),
                              Field("YEAR", "int")))
    rows = [f"{n},Drama|Comedy,{1990 + n % 20}" for n in range(1, 3001)]
    rows[40] = "41,Drama,"
    rows[2500] = "2501,Documentary,2006\u20132007"
    rows[2999] = "3000,(no genres listed),"
    snap, result = run(store(m="ITEM_ID,GENRE,YEAR\n" + "\n".join(rows) + "\n"), "s3://b/m.csv", schema,
                       dataset_type="ITEMS")
    assert snap.n_rows == 2997 and result.rows == 2997
    assert [(d.column, d.problem, d.rows) for d in result.dropped] == [("YEAR", "empty", 2), ("YEAR", "invalid", 1)]
    assert result.dropped[0].first.startswith("s3://b/m.csv line 42, column YEAR")
    assert result.dropped[1].first == "s3://b/m.csv line 2502, column YEAR: '2006\u20132007' is not an int"
    assert {"41", "2501", "3000"}.isdisjoint(column_values(snap, "ITEM_ID"))
    assert "Documentary" not in list(snap.columns["GENRE"].vocab)


def test_a_file_of_only_bad_rows_fails() -> None:
    reason = failure(store(i="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i1,yesterday,view\nu2,i2,,view\n"),
                     "s3://b/i.csv")
    assert reason.startswith("No row could be imported: dropped 2 of 2 rows: 1 with an invalid TIMESTAMP")
    assert "1 with an empty TIMESTAMP" in reason


def test_bad_boolean() -> None:
    text = "ITEM_ID,GENRES,PRICE,IN_STOCK,RANK,DESCRIPTION\ni1,A,1,yes,,\ni2,B,1,true,,\n"
    _, drop = only_drop(store(items=text), "s3://b/items.csv", ITEMS, dataset_type="ITEMS")
    assert drop.first == "s3://b/items.csv line 2, column IN_STOCK: 'yes' is not a boolean (true or false)"


def test_bad_floats_and_ints() -> None:
    header = "ITEM_ID,GENRES,PRICE,IN_STOCK,RANK,DESCRIPTION\n"
    for row, column, what in [
        ("i1,A,nan,true,,", "PRICE", "'nan' is not a double"),
        ("i1,A,cheap,true,,", "PRICE", "'cheap' is not a double"),
        ("i1,A,1,true,3000000000,", "RANK", "'3000000000' is not an int"),
    ]:
        _, drop = only_drop(store(items=header + row + "\ni2,A,1,true,,\n"), "s3://b/items.csv", ITEMS,
                            dataset_type="ITEMS")
        assert drop.first.startswith(f"s3://b/items.csv line 2, column {column}: {what}")


def test_id_and_categorical_lengths() -> None:
    long_id = "x" * 257
    reason = failure(store(i=INTERACTIONS_CSV + f"{long_id},i3,1,click,\n"), "s3://b/i.csv")
    assert reason.startswith("s3://b/i.csv line 5, column USER_ID:") and "at most 256" in reason
    assert "(257 characters)" in reason  # the value is shown truncated
    users = f"USER_ID,AGE,MEMBERSHIP\nu1,3,gold|{'y' * 1001}\n"
    reason = failure(store(u=users), "s3://b/u.csv", USERS, dataset_type="USERS")
    assert reason.startswith("s3://b/u.csv line 2, column MEMBERSHIP:") and "at most 1000" in reason


def test_missing_object() -> None:
    reason = failure(MemoryBlobStore(), "s3://b/nothing.csv")
    assert reason == "The data file s3://b/nothing.csv does not exist"


def test_empty_prefix() -> None:
    reason = failure(store(other=INTERACTIONS_CSV), "s3://b/data/")
    assert reason == "No data files found under s3://b/data/"


def test_empty_single_file_and_bad_location() -> None:
    assert "is empty" in failure(store(i=""), "s3://b/i.csv")
    assert "not an s3://bucket/key path" in failure(MemoryBlobStore(), "b/i.csv")


def test_invalid_utf8() -> None:
    blobs = MemoryBlobStore()
    blobs.put("s3://b/i.csv", INTERACTIONS_CSV.encode() + b"u\xff,i,1,click,\n")
    reason = failure(blobs, "s3://b/i.csv")
    assert "s3://b/i.csv" in reason and "UTF-8" in reason


def test_rows_after_the_first_chunk_keep_line_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tailor.imports.CHUNK_ROWS", 2)
    text = INTERACTIONS_CSV + "u3,i3,7,click,\n\nu4,i4,x,click,\nu5,i5,8,click\n"
    snap, drop = only_drop(store(i=text[: text.rindex("u5")]), "s3://b/i.csv")
    assert drop.first.startswith("s3://b/i.csv line 7, column TIMESTAMP: 'x'")
    assert column_values(snap, "USER_ID") == ["u1", "u2", "u1", "u3"]
    assert failure(store(i=text), "s3://b/i.csv").startswith("s3://b/i.csv line 8: 4 values")
