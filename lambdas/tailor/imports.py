"""Dataset import: CSV objects in the blob store, checked against the schema, into a columnar Snapshot.

The same rules check one value at a time for the records and events put through personalize-events (convert_value).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import itertools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.ports import BlobStore
from tailor.schemas import Field, Schema
from tailor.snapshot import (
    BOOL_TYPES,
    FLOAT_TYPES,
    INT_TYPES,
    STRING_TYPES,
    Column,
    Snapshot,
    concat,
    upsert,
)

# Rows converted per step. Small enough that a chunk's Python objects stay in the CPU cache: measured
# ~1.8x faster than 65,536-row chunks on 1M interactions, and it bounds the transient Python objects.
CHUNK_ROWS = 2048
MAX_ID_LENGTH = 256
MAX_CATEGORICAL_VALUE_LENGTH = 1000
ID_FIELDS = frozenset({"USER_ID", "ITEM_ID", "ACTION_ID"})
TIMESTAMP_FIELDS = frozenset({"TIMESTAMP", "CREATION_TIMESTAMP"})
# Datasets whose rows are entities keyed by an id: an incremental import replaces rows by that id.
ENTITY_ID_FIELD = {"ITEMS": "ITEM_ID", "USERS": "USER_ID", "ACTIONS": "ACTION_ID"}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_BOOLEANS = {"true": 1, "false": 0}


class ImportFailed(Exception):
    """The import cannot go ahead; `reason` is what DescribeDatasetImportJob's failureReason says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class DroppedRows:
    """Rows left out of an import for one reason: a value of `column` that was empty (`problem` "empty") or not of
    the field's type ("invalid"); `first` names the first such row and its value."""

    column: str
    problem: str
    rows: int
    first: str

    def wire(self) -> dict[str, object]:
        return {"column": self.column, "problem": self.problem, "rows": self.rows, "first": self.first}


@dataclass(frozen=True)
class ImportResult:
    rows: int  # rows imported from the files (before any merge with earlier data)
    files: int  # data files read
    dropped: tuple[DroppedRows, ...] = ()  # rows left out, by reason

    @property
    def rows_dropped(self) -> int:
        return sum(d.rows for d in self.dropped)

    def summary(self) -> str:
        """One sentence on what was left out ("" when nothing was)."""
        if not self.dropped:
            return ""
        read = self.rows + self.rows_dropped
        parts = "; ".join(f"{d.rows:,} with {'an empty' if d.problem == 'empty' else 'an invalid'} {d.column} "
                          f"(first: {d.first})" for d in self.dropped)
        return f"dropped {self.rows_dropped:,} of {read:,} rows: {parts}"


def import_csv(
    blobs: BlobStore,
    data_location: str,
    schema: Schema,
    dataset_type: str,
    mode: str,
    previous: Snapshot | None,
    *,
    strict: bool = False,
) -> tuple[Snapshot, ImportResult]:
    """Read every CSV at `data_location` (read_csv) and merge it with `previous` as `mode` says (merge)."""
    if mode not in ("FULL", "INCREMENTAL"):
        raise ImportFailed(f"Unknown import mode {mode!r}; expected FULL or INCREMENTAL")
    new, result = read_csv(blobs, data_location, schema, strict=strict)
    return merge(previous, new, schema, dataset_type, mode, data_location), result


def read_csv(blobs: BlobStore, data_location: str, schema: Schema, *, strict: bool = False,
             ) -> tuple[Snapshot, ImportResult]:
    """The rows of every CSV at `data_location`, checked against the schema.

    A row with a value its field cannot hold (empty where the field is not nullable, not of the field's type) is left
    out and counted in the result, as a Personalize import leaves such rows out and still ends ACTIVE (the recorded
    runs of AWS's notebooks; the documentation only says the data must match the schema). `strict` fails the import
    at the first such row instead: for a list whose every row matters (the users a data deletion job deletes).
    If no row is left, the import fails. Writes nothing: the caller stores the snapshot, so a failure leaves earlier
    data as it was.
    """
    builder = _ColumnsBuilder(schema.fields)
    dropped = None if strict else _Dropped()
    files = 0
    with _collector_paused():
        for uri, single in data_files(blobs, data_location):
            if _read_file(blobs, uri, schema.fields, builder, dropped, skip_if_empty=not single):
                files += 1
    if files == 0:
        raise ImportFailed(f"No data files found under {data_location} (every object there is empty)")
    new = builder.finish()
    result = ImportResult(rows=new.n_rows, files=files, dropped=dropped.report() if dropped else ())
    if new.n_rows == 0 and result.dropped:
        raise ImportFailed(f"No row could be imported: {result.summary()}")
    return new, result


def merge(previous: Snapshot | None, new: Snapshot, schema: Schema, dataset_type: str, mode: str,
          data_location: str) -> Snapshot:
    """`new` rows over the dataset's `previous` data: FULL replaces it; INCREMENTAL appends interactions and replaces
    items, users and actions by id. Within one import too, the later row of an id wins."""
    id_field = ENTITY_ID_FIELD.get(dataset_type)
    if mode == "INCREMENTAL" and previous is not None and previous.n_rows > 0:
        _check_compatible(previous, schema, data_location)
        return upsert(previous, new, id_field) if id_field else concat(previous, new)
    if id_field:
        return upsert(Snapshot.empty(new.schema_fields), new, id_field)
    return new


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while parsing.

    The parse makes millions of short-lived, acyclic objects (rows, cells); each generation-0 collection they trigger
    also walks the long-lived heap of the process (boto3, moto), which measured at about 60% of the parse time inside
    the local server (BENCHMARKS.md, Import). Reference counting still frees everything; a collection runs after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_compatible(previous: Snapshot, schema: Schema, data_location: str) -> None:
    old = [(f.name, f.type) for f in previous.schema_fields]
    now = [(f.name, f.type) for f in schema.fields]
    if old != now:
        raise ImportFailed(
            f"Cannot import {data_location} incrementally: the dataset's existing data has columns "
            f"{_sig(old)} but the schema has {_sig(now)}. Import with importMode FULL to replace it."
        )


def _sig(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{n} ({t})" for n, t in pairs)


# ---- locating the files ----------------------------------------------------------------------------


def data_files(blobs: BlobStore, location: str) -> list[tuple[str, bool]]:
    """(uri, is the single named object) for each object to read."""
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not location.startswith("s3://") or not bucket:
        raise ImportFailed(f"The data location {location!r} is not an s3://bucket/key path")
    if key and not key.endswith("/"):
        try:
            blobs.open(location).close()
        except FileNotFoundError:
            # A folder named without its trailing slash still works, as it does for S3 prefixes.
            if not _objects_under(blobs, location + "/"):
                raise ImportFailed(f"The data file {location} does not exist") from None
            location += "/"
        else:
            return [(location, True)]
    uris = _objects_under(blobs, location)
    if not uris:
        raise ImportFailed(f"No data files found under {location}")
    return [(u, False) for u in uris]


def _objects_under(blobs: BlobStore, prefix: str) -> list[str]:
    # Keys ending in "/" are the zero-byte "folder" markers the S3 console creates.
    return [u for u in blobs.list(prefix) if not u.endswith("/")]


# ---- reading one file ------------------------------------------------------------------------------


class _CellError(Exception):
    """A problem at a row of the current chunk. A bad value (`problem` "empty" or "invalid", in `column`) drops the
    row, as a field that does not allow it cannot hold it; any other (a row of the wrong width, an id or a categorical
    value over its length limit, which Personalize documents as failing the import) fails the import with the line
    number."""

    def __init__(self, row: int, message: str, column: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.row = row
        self.message = message
        self.column = column
        self.problem = problem

    def at(self, row: int) -> _CellError:
        return _CellError(row, self.message, self.column, self.problem)


class _Dropped:
    """The rows left out of an import so far, by (column, problem): how many, and where the first one was."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self.first: dict[tuple[str, str], str] = {}

    def add(self, key: tuple[str, str], where: Callable[[], str]) -> None:
        if key not in self.counts:
            self.counts[key] = 0
            self.first[key] = where()
        self.counts[key] += 1

    def report(self) -> tuple[DroppedRows, ...]:
        return tuple(DroppedRows(column, problem, n, self.first[(column, problem)])
                     for (column, problem), n in self.counts.items())


def _read_file(
    blobs: BlobStore,
    uri: str,
    fields: tuple[Field, ...],
    builder: _ColumnsBuilder,
    dropped: _Dropped | None,
    skip_if_empty: bool,
) -> bool:
    """Append the file's rows to `builder`, and the rows it leaves out to `dropped` (None: fail at the first); False
    if it was skipped as empty."""
    try:
        raw = blobs.open(uri)
    except FileNotFoundError:
        raise ImportFailed(f"The data file {uri} does not exist") from None
    with raw:
        # utf-8-sig drops a leading byte order mark; newline="" lets csv handle quoted line breaks.
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                if skip_if_empty:
                    return False
                raise ImportFailed(f"{uri} is empty; expected a header row with {_names(fields)}")
            layout = _header_layout(uri, header, fields)
            record = 1  # records read so far, the header being record 0
            while chunk := list(itertools.islice(reader, CHUNK_ROWS)):
                try:
                    rows, bad = (chunk, None) if layout is None else layout.project(chunk)
                    # A bad value before a row of the wrong width is the earlier problem.
                    left_out: list[_CellError] = []
                    if dropped is None:
                        builder.add(rows)
                    else:
                        left_out = builder.add_dropping(rows)
                    if bad is not None:
                        raise bad
                except _CellError as e:
                    line = _line_of_record(blobs, uri, record + e.row)
                    raise ImportFailed(f"{uri} line {line}{e.message}") from None
                for problem in left_out:
                    assert dropped is not None
                    where = functools.partial(_where, blobs, uri, record + problem.row, problem.message)
                    dropped.add((problem.column, problem.problem), where)
                record += len(chunk)
        except UnicodeDecodeError:
            raise ImportFailed(
                f"{uri} is not valid UTF-8 (near line {reader.line_num + 1}); save the file as UTF-8"
            ) from None
        except csv.Error as e:
            raise ImportFailed(f"{uri} line {reader.line_num}: malformed CSV ({e})") from None
    return True


def _names(fields: Sequence[Field]) -> str:
    return ",".join(f.name for f in fields)


@dataclass(frozen=True)
class _Layout:
    """Where each schema field is in a file whose header is not exactly the schema's fields in order. Columns are
    matched by name, as Personalize's recorded imports do (the documentation asks for the schema's order): another
    order, a pandas index column (`df.to_csv(path)` writes one, with an empty name), columns the schema does not
    have (ignored), an optional field left out (null)."""

    columns: tuple[int, ...]  # per schema field, its column in the file; -1: absent (a nullable field)
    header: tuple[str, ...]

    def project(self, rows: list[list[str]]) -> tuple[list[list[str]], _CellError | None]:
        """The rows in schema order (blank lines kept, as the builder skips them), up to the first row whose number
        of values is not the header's; that row's error."""
        width, columns = len(self.header), self.columns
        out: list[list[str]] = []
        for i, row in enumerate(rows):
            if row and len(row) != width:
                n = len(row)
                detail = (f"column {self.header[n]!r} is missing" if n < width
                          else f"there are values after the last column {self.header[-1]!r}")
                return out, _CellError(i, f": {n} values but the header has {width} columns; {detail}")
            out.append([row[c] if c >= 0 else "" for c in columns] if row else row)
        return out, None


def _header_layout(uri: str, header: list[str], fields: tuple[Field, ...]) -> _Layout | None:
    """None when the header is the schema's fields in order (rows are read as they are); else where each field is.
    ImportFailed naming the field when a required one is missing, or when one is named twice."""
    got = [h.strip().lstrip("\ufeff").strip() for h in header]
    want = [f.name for f in fields]
    if got == want:
        return None
    shown = _show(",".join(header), 300)
    prefix = f"{uri}: the header row is {shown} but the schema's fields are {_names(fields)!r}"
    found: dict[str, int] = {}
    for i, name in enumerate(got):
        if name in want:
            if name in found:
                raise ImportFailed(f"{prefix}; column {name!r} appears twice (columns {found[name] + 1} and {i + 1})")
            found[name] = i
    missing = [f.name for f in fields if f.name not in found and not f.nullable]
    if missing:
        near = {g.lower(): g for g in got}
        hints = [f" (the header has {near[m.lower()]!r}: names are case-sensitive)" if m.lower() in near else ""
                 for m in missing]
        listed = ", ".join(f"{m!r}{hint}" for m, hint in zip(missing, hints, strict=True))
        raise ImportFailed(f"{prefix}; the required {'column' if len(missing) == 1 else 'columns'} {listed} "
                           f"{'is' if len(missing) == 1 else 'are'} missing")
    return _Layout(tuple(found.get(name, -1) for name in want), tuple(got))


def _where(blobs: BlobStore, uri: str, record: int, message: str) -> str:
    return f"{uri} line {_line_of_record(blobs, uri, record)}{message}"


def _line_of_record(blobs: BlobStore, uri: str, record: int) -> int:
    """The 1-based line a CSV record starts on; rereads the file since quoted values may span lines."""
    with blobs.open(uri) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), strict=True)
        for _ in itertools.islice(reader, record):
            pass
        return reader.line_num + 1


def _show(value: str, limit: int = 60) -> str:
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


# ---- converting columns ----------------------------------------------------------------------------


class _Encoder:
    """Dictionary-encodes a string column chunk by chunk: value -> code in order of first appearance."""

    def __init__(self, nullable: bool) -> None:
        # The empty cell of a nullable field is null (-1), never a vocabulary entry.
        self.index: dict[str, int] = {"": -1} if nullable else {}
        self.offset = 1 if nullable else 0
        self.added: list[str] = []  # the values the last chunk added, until the chunk is committed

    def encode(self, col: tuple[str, ...], check_new: Callable[[tuple[str, ...], list[str]], None]) -> np.ndarray:
        """The chunk's codes; `check_new` sees the values not seen before (first appearance first)."""
        index = self.index
        self.added = []
        # A plain dict's get through map() is the fastest lookup available; misses come back as None.
        codes = list(map(index.get, col))
        if None in codes:
            new = list(dict.fromkeys(v for v, c in zip(col, codes, strict=True) if c is None))
            check_new(col, new)
            base = len(index) - self.offset
            index.update(zip(new, range(base, base + len(new)), strict=True))
            self.added = new
            codes = list(map(index.get, col))
        return np.array(codes, dtype=np.int32)

    def undo(self) -> None:
        """Forget the values the last chunk added: it was not committed (a row of it is dropped or fails)."""
        for v in self.added:
            del self.index[v]
        self.added = []

    def vocab(self) -> np.ndarray:
        values = list(self.index)[self.offset :]
        return np.array(values, dtype=np.str_) if values else np.zeros(0, dtype=np.str_)


# One chunk of one column: its values and, for nullable numeric fields, the null mask.
_Converted = tuple[np.ndarray, np.ndarray | None]


class _ColumnsBuilder:
    """Accumulates converted chunks per column, so only one chunk of rows is ever held as Python objects."""

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields
        self.parts: list[list[np.ndarray]] = [[] for _ in fields]
        self.masks: list[list[np.ndarray]] = [[] for _ in fields]
        self.encoders = [_Encoder(f.nullable) if f.type in STRING_TYPES else None for f in fields]
        self.converters: list[Callable[[int, tuple[str, ...]], _Converted]] = [
            self._converter(i, f) for i, f in enumerate(fields)
        ]
        self.n_rows = 0

    def add(self, rows: list[list[str]]) -> None:
        """Convert a chunk of CSV records; _CellError for the first bad one (earliest row, then column)."""
        width = len(self.fields)
        lengths = set(map(len, rows))
        if 0 in lengths:
            # Blank lines carry no record; drop them but keep row numbers right for error messages.
            kept = [i for i, r in enumerate(rows) if r]
            rows = [rows[i] for i in kept]
            try:
                self._add_valid_width(rows, lengths - {0}, width)
            except _CellError as e:
                raise e.at(kept[e.row]) from None
        else:
            self._add_valid_width(rows, lengths, width)

    def add_dropping(self, rows: list[list[str]]) -> list[_CellError]:
        """`add` the chunk less its rows with a bad value; one error per row left out (the row's first problem).
        Any other problem raises _CellError as `add` does. Sifting row by row costs only when a chunk has a bad
        value."""
        try:
            self.add(rows)
            return []
        except _CellError as e:
            if not e.problem:
                raise
        width = len(self.fields)
        left_out: list[_CellError] = []
        kept: list[int] = []
        for i, row in enumerate(rows):
            problem = self._value_problem(row) if len(row) == width else None
            if problem is None:
                kept.append(i)  # blank lines and rows of the wrong width too: `add` deals with them
            else:
                left_out.append(problem.at(i))
        try:
            self.add([rows[i] for i in kept])
        except _CellError as e:
            raise e.at(kept[e.row]) from None
        return left_out

    def _value_problem(self, row: list[str]) -> _CellError | None:
        """The first bad value of one row, checked as the column converters check it, without touching the
        vocabularies (a string's only droppable problem is being empty)."""
        for i, f in enumerate(self.fields):
            try:
                if f.type in STRING_TYPES:
                    if row[i] == "":
                        self._not_null(f, (row[i],))
                else:
                    self.converters[i](i, (row[i],))
            except _CellError as e:
                return e
        return None

    def _add_valid_width(self, rows: list[list[str]], lengths: set[int], width: int) -> None:
        if lengths and lengths != {width}:
            bad = next(i for i, r in enumerate(rows) if len(r) != width)
            # Values before the short/long row are checked first so the earliest problem is reported.
            self._convert(rows[:bad], commit=False)
            n = len(rows[bad])
            if n < width:
                detail = f"column {self.fields[n].name} is missing"
            else:
                detail = f"there are values after the last column {self.fields[-1].name}"
            raise _CellError(bad, f": {n} values but the header has {width} columns; {detail}")
        self._convert(rows, commit=True)

    def _convert(self, rows: list[list[str]], commit: bool) -> None:
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        first: _CellError | None = None
        converted: list[_Converted] = []
        for i, convert in enumerate(self.converters):
            try:
                converted.append(convert(i, columns[i]))
            except _CellError as e:
                if first is None or e.row < first.row:
                    first = e
        if first is not None or not commit:
            for encoder in self.encoders:
                if encoder is not None:
                    encoder.undo()
        if first is not None:
            raise first
        if commit:
            for i, (values, mask) in enumerate(converted):
                self.parts[i].append(values)
                if mask is not None:
                    self.masks[i].append(mask)
            self.n_rows += len(rows)

    def finish(self) -> Snapshot:
        columns: dict[str, Column] = {}
        for i, f in enumerate(self.fields):
            values = _join(self.parts[i], _dtype(f))
            encoder = self.encoders[i]
            if encoder is not None:
                columns[f.name] = Column(values, vocab=encoder.vocab())
                self.encoders[i] = None  # the dict of Python strings is the largest thing held; free it early
            elif f.nullable and f.type not in BOOL_TYPES:
                columns[f.name] = Column(values, mask=_join(self.masks[i], np.dtype(np.bool_)))
            else:
                columns[f.name] = Column(values)
        return Snapshot(self.fields, columns, self.n_rows)

    # -- per-type converters: each returns the chunk's column (values, null mask) or raises _CellError --

    def _converter(self, i: int, f: Field) -> Callable[[int, tuple[str, ...]], _Converted]:
        if f.type in STRING_TYPES:
            return self._strings
        if f.type in INT_TYPES:
            return self._ints
        if f.type in FLOAT_TYPES:
            return self._floats
        if f.type in BOOL_TYPES:
            return self._booleans
        raise ValueError(f"field {f.name} has unsupported type {f.type!r}")

    def _not_null(self, f: Field, col: tuple[str, ...]) -> None:
        if not f.nullable and "" in col:
            raise _CellError(col.index(""), f", column {f.name}: the value is empty but the field is not nullable",
                             f.name, "empty")

    def _strings(self, i: int, col: tuple[str, ...]) -> _Converted:
        f = self.fields[i]
        encoder = self.encoders[i]
        assert encoder is not None

        # Only values new to the vocabulary need checking: the others passed when first seen.
        def check_new(col: tuple[str, ...], new: list[str]) -> None:
            for v in new:
                if v == "":
                    self._not_null(f, col)
                if f.name in ID_FIELDS and len(v) > MAX_ID_LENGTH:
                    raise _CellError(
                        col.index(v),
                        f", column {f.name}: {_show(v)} is {len(v)} characters; ids may be at most {MAX_ID_LENGTH}",
                    )
                if f.categorical and len(v) > MAX_CATEGORICAL_VALUE_LENGTH:
                    for part in v.split("|"):
                        if len(part) > MAX_CATEGORICAL_VALUE_LENGTH:
                            raise _CellError(
                                col.index(v),
                                f", column {f.name}: the categorical value {_show(part)} is {len(part)} "
                                f"characters; each '|'-separated value may be at most "
                                f"{MAX_CATEGORICAL_VALUE_LENGTH}",
                            )

        return encoder.encode(col, check_new), None

    def _null_mask(self, f: Field, col: tuple[str, ...]) -> tuple[tuple[str, ...] | list[str], np.ndarray | None]:
        """The column with empty cells replaced by a parsable zero, and the null mask if nullable."""
        if not f.nullable:
            return col, None  # an empty cell fails to parse, and _bad_number says it is a missing value
        if "" not in col:
            return col, np.zeros(len(col), dtype=bool)
        mask = np.fromiter((v == "" for v in col), dtype=bool, count=len(col))
        return ["0" if v == "" else v for v in col], mask

    def _ints(self, i: int, col: tuple[str, ...]) -> _Converted:
        f = self.fields[i]
        texts, mask = self._null_mask(f, col)
        try:
            ints = list(map(int, texts))
            # int() also takes "1_000" and non-ASCII digits, which a CSV number should not contain.
            joined = "".join(texts)
            if "_" in joined or not joined.isascii():
                raise ValueError
            values = np.array(ints, dtype=np.int64)
        except (ValueError, OverflowError):
            raise self._bad_number(f, texts, _parses_as_int64) from None
        if f.type == "int" and len(values) and (values.min() < _INT32_MIN or values.max() > _INT32_MAX):
            raise self._bad_number(f, texts, _parses_as_int32) from None
        return values, mask

    def _floats(self, i: int, col: tuple[str, ...]) -> _Converted:
        f = self.fields[i]
        texts, mask = self._null_mask(f, col)
        try:
            values = np.array(list(map(float, texts)), dtype=np.float64)
            joined = "".join(texts)
            # float() also takes "nan", "inf" and "1_0"; none of them is a number to train on.
            if "_" in joined or not joined.isascii() or not np.isfinite(values).all():
                raise ValueError
        except ValueError:
            raise self._bad_number(f, texts, _parses_as_float) from None
        return values, mask

    def _booleans(self, i: int, col: tuple[str, ...]) -> _Converted:
        f = self.fields[i]
        self._not_null(f, col)
        table = {"": -1, **_BOOLEANS}
        get = table.get
        codes = [get(v, None) for v in col]
        if None in codes:
            codes = [get(v.lower(), None) for v in col]  # true/false in any case
        if None in codes:
            row = codes.index(None)
            raise _CellError(row, f", column {f.name}: {_show(col[row])} is not a boolean (true or false)", f.name,
                             "invalid")
        return np.array(codes, dtype=np.int8), None

    def _bad_number(self, f: Field, texts: Sequence[str], parses: Callable[[str], bool]) -> _CellError:
        row = next(r for r, v in enumerate(texts) if not parses(v))
        text = texts[row]
        if text == "":
            return _CellError(row, f", column {f.name}: the value is empty but the field is not nullable", f.name,
                              "empty")
        what = {"int": "an int", "long": "a long", "float": "a float", "double": "a double"}[f.type]
        if f.name in TIMESTAMP_FIELDS:
            what += " (epoch seconds)"
        if f.type in INT_TYPES and _parses_as_float(text) and float(text).is_integer():
            # Pandas writes integer columns holding nulls as "123.0"; Personalize wants whole numbers.
            what += "; write whole numbers without a decimal point"
        return _CellError(row, f", column {f.name}: {_show(text)} is not {what}", f.name, "invalid")


def _parses_as_int64(text: str) -> bool:
    try:
        v = int(text)
    except ValueError:
        return False
    return "_" not in text and text.isascii() and -(2**63) <= v < 2**63


def _parses_as_int32(text: str) -> bool:
    return _parses_as_int64(text) and _INT32_MIN <= int(text) <= _INT32_MAX


def _parses_as_float(text: str) -> bool:
    try:
        v = float(text)
    except ValueError:
        return False
    return "_" not in text and text.isascii() and bool(np.isfinite(v))


def _dtype(f: Field) -> np.dtype:
    if f.type in STRING_TYPES:
        return np.dtype(np.int32)
    if f.type in INT_TYPES:
        return np.dtype(np.int64)
    if f.type in FLOAT_TYPES:
        return np.dtype(np.float64)
    return np.dtype(np.int8)


def _join(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


# ---- one value at a time (the `properties` of PutEvents / PutItems / PutUsers) -----------------------

_WHAT = {"int": "an int", "long": "a long", "float": "a float", "double": "a double"}


def convert_value(f: Field, value: object) -> str | float | None:
    """A JSON value for field `f`, as the events store keeps it; ValueError saying what is wrong with it (the caller
    names where the value was).

    The rules are the CSV cell's: null (or "") only when the field is nullable, ids at most MAX_ID_LENGTH, each
    '|'-separated categorical value at most MAX_CATEGORICAL_VALUE_LENGTH, int/long whole and in range, numbers
    finite, booleans true/false. JSON numbers and booleans may also come as the text a CSV cell would hold ("12",
    "true"). String fields want JSON strings. Numbers come back as float; booleans as 1.0 / 0.0, as the snapshot's
    boolean column holds 1 / 0."""
    if value is None or value == "":
        if f.nullable:
            return None
        raise _refused("null" if value is None else '""', "allowed: the field is not nullable")
    if f.type in STRING_TYPES:
        if not isinstance(value, str):
            raise _refused(_json(value), "a string (the field is a string; quote the value)")
        if f.name in ID_FIELDS and len(value) > MAX_ID_LENGTH:
            raise _refused(_head(value), f"{len(value)} characters; ids may be at most {MAX_ID_LENGTH}", verb="is")
        if f.categorical and len(value) > MAX_CATEGORICAL_VALUE_LENGTH:
            for part in value.split("|"):
                if len(part) > MAX_CATEGORICAL_VALUE_LENGTH:
                    raise _refused(
                        f"the categorical value {_head(part)}",
                        f"{len(part)} characters; each '|'-separated value may be at most "
                        f"{MAX_CATEGORICAL_VALUE_LENGTH}",
                        verb="is",
                    )
        return value
    if f.type in BOOL_TYPES:
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, str) and value.lower() in _BOOLEANS:
            return float(_BOOLEANS[value.lower()])
        raise _refused(_json(value), "a boolean (true or false)")
    what = _WHAT[f.type] + (" (epoch seconds)" if f.name in TIMESTAMP_FIELDS else "")
    if isinstance(value, str):
        if f.type in FLOAT_TYPES:
            if _parses_as_float(value):
                return float(value)
        elif _parses_as_int32(value) if f.type == "int" else _parses_as_int64(value):
            return float(int(value))
        raise _refused(_json(value), what)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refused(_json(value), what)
    try:
        number = float(value)
    except OverflowError:
        raise _refused(_json(value), f"{what}: it is out of range") from None
    if not math.isfinite(number):
        raise _refused(_json(value), what)
    if f.type in INT_TYPES:
        if not number.is_integer():
            raise _refused(_json(value), f"{what}; write a whole number")
        low, high = (_INT32_MIN, _INT32_MAX) if f.type == "int" else (-(2**63), 2**63 - 1)
        if not low <= int(value) <= high:
            raise _refused(_json(value), f"{what}: it is out of range")
    return number


def _refused(subject: str, expected: str, verb: str = "is not") -> ValueError:
    return ValueError(f"{subject} {verb} {expected}")


def _head(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:40]!r}..."


def _json(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else f"{text[:60]}... ({len(text)} characters)"
