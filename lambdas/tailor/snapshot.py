"""The columnar dataset snapshot: one dataset's rows as numpy columns, stored as a single .npz object."""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, replace
from typing import IO, Any

import numpy as np

from tailor.ports import BlobStore
from tailor.schemas import Field

FORMAT_VERSION = 1
_META_KEY = "__meta__"

# How each Avro field type is held in memory and on disk.
STRING_TYPES = frozenset({"string"})
INT_TYPES = frozenset({"int", "long"})
FLOAT_TYPES = frozenset({"float", "double"})
BOOL_TYPES = frozenset({"boolean"})


@dataclass(frozen=True, eq=False)
class Column:
    """One column; which arrays are set depends on the field type.

    string:  values = int32 codes into `vocab` (a `<U` array of distinct values), -1 = null
    int/long: values = int64;  float/double: values = float64;  `mask` (True = null) only when nullable
    boolean: values = int8, 1 = true, 0 = false, -1 = null
    """

    values: np.ndarray
    vocab: np.ndarray | None = None
    mask: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def codes(self) -> np.ndarray:
        """The dictionary codes of a string column (an alias of `values` that reads better)."""
        return self.values

    def null_mask(self) -> np.ndarray:
        """A bool array, True where the value is null."""
        if self.vocab is not None or self.values.dtype == np.int8:
            return self.values < 0
        if self.mask is not None:
            return self.mask
        return np.zeros(len(self.values), dtype=bool)


@dataclass(frozen=True, eq=False)
class Snapshot:
    schema_fields: tuple[Field, ...]
    columns: dict[str, Column]
    n_rows: int

    def __post_init__(self) -> None:
        names = [f.name for f in self.schema_fields]
        if sorted(names) != sorted(self.columns):
            raise ValueError(f"snapshot columns {sorted(self.columns)} do not match the fields {names}")
        for f in self.schema_fields:
            _check_column(f, self.columns[f.name], self.n_rows)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema_fields)

    def field(self, name: str) -> Field:
        for f in self.schema_fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @classmethod
    def empty(cls, fields: tuple[Field, ...]) -> Snapshot:
        return cls(tuple(fields), {f.name: empty_column(f) for f in fields}, 0)


def empty_column(f: Field) -> Column:
    if f.type in STRING_TYPES:
        return Column(np.zeros(0, dtype=np.int32), vocab=np.zeros(0, dtype=np.str_))
    if f.type in BOOL_TYPES:
        return Column(np.zeros(0, dtype=np.int8))
    dtype = np.int64 if f.type in INT_TYPES else np.float64
    return Column(np.zeros(0, dtype=dtype), mask=np.zeros(0, dtype=bool) if f.nullable else None)


def _check_column(f: Field, col: Column, n_rows: int) -> None:
    """Catch a malformed column where it is built rather than where it is trained on."""
    if f.type in STRING_TYPES:
        expected: Any = np.int32
    elif f.type in INT_TYPES:
        expected = np.int64
    elif f.type in FLOAT_TYPES:
        expected = np.float64
    elif f.type in BOOL_TYPES:
        expected = np.int8
    else:
        raise ValueError(f"field {f.name} has unknown type {f.type!r}")
    if col.values.dtype != expected or col.values.ndim != 1 or len(col.values) != n_rows:
        raise ValueError(f"column {f.name}: expected {n_rows} values of {np.dtype(expected)}")
    if (col.vocab is not None) != (f.type in STRING_TYPES):
        raise ValueError(f"column {f.name}: a vocabulary goes with string columns only")
    if col.vocab is not None and col.vocab.dtype.kind != "U":
        raise ValueError(f"column {f.name}: the vocabulary must be a unicode array")
    if col.mask is not None and (col.mask.dtype != np.bool_ or len(col.mask) != n_rows):
        raise ValueError(f"column {f.name}: the null mask must be {n_rows} bools")


# ---- storage ---------------------------------------------------------------------------------------


def _field_doc(f: Field) -> dict[str, Any]:
    return {
        "name": f.name,
        "type": f.type,
        "nullable": f.nullable,
        "categorical": f.categorical,
        "textual": f.textual,
    }


def to_npz_bytes(snap: Snapshot) -> bytes:
    meta = {
        "format": FORMAT_VERSION,
        "n_rows": snap.n_rows,
        "fields": [_field_doc(f) for f in snap.schema_fields],
    }
    arrays: dict[str, np.ndarray] = {_META_KEY: np.array(json.dumps(meta), dtype=np.str_)}
    for f in snap.schema_fields:
        col = snap.columns[f.name]
        if col.vocab is not None:
            arrays[f"{f.name}.codes"] = col.values
            arrays[f"{f.name}.vocab"] = col.vocab
        else:
            arrays[f"{f.name}.values"] = col.values
        if col.mask is not None:
            arrays[f"{f.name}.mask"] = col.mask
    buf = io.BytesIO()
    # Uncompressed: zlib would cost several times the write time for a modest saving on int codes.
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def from_npz(stream: IO[bytes]) -> Snapshot:
    """The snapshot in a seekable .npz file (to_npz_bytes's format)."""
    with np.load(stream, allow_pickle=False) as npz:
        meta = json.loads(str(npz[_META_KEY][()]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported snapshot format {meta.get('format')!r}")
        fields = tuple(
            Field(
                name=d["name"],
                type=d["type"],
                nullable=bool(d["nullable"]),
                categorical=bool(d["categorical"]),
                textual=bool(d["textual"]),
            )
            for d in meta["fields"]
        )
        columns: dict[str, Column] = {}
        for f in fields:
            mask = npz[f"{f.name}.mask"] if f"{f.name}.mask" in npz.files else None
            if f.type in STRING_TYPES:
                columns[f.name] = Column(npz[f"{f.name}.codes"], vocab=npz[f"{f.name}.vocab"], mask=mask)
            else:
                columns[f.name] = Column(npz[f"{f.name}.values"], mask=mask)
    return Snapshot(fields, columns, int(meta["n_rows"]))


def write_snapshot(blobs: BlobStore, uri: str, snap: Snapshot) -> None:
    blobs.put(uri, to_npz_bytes(snap))


def read_snapshot(blobs: BlobStore, uri: str) -> Snapshot:
    """The snapshot stored at `uri`; FileNotFoundError if there is none. Read where it lies (np.load reads each column
    into its own array), so memory never holds the object's bytes beside the columns."""
    with blobs.open_seekable(uri) as stream:
        return from_npz(stream)


# ---- combining -------------------------------------------------------------------------------------


def concat(a: Snapshot, b: Snapshot) -> Snapshot:
    """The rows of `a` followed by those of `b`; the fields must have the same names and types in the
    same order. The result takes `b`'s field flags (it is the newer), nullable if either is."""
    a_sig = [(f.name, f.type) for f in a.schema_fields]
    b_sig = [(f.name, f.type) for f in b.schema_fields]
    if a_sig != b_sig:
        raise ValueError(f"cannot concatenate snapshots with different fields: {a_sig} vs {b_sig}")
    fields = tuple(
        dataclasses.replace(fb, nullable=fa.nullable or fb.nullable)
        for fa, fb in zip(a.schema_fields, b.schema_fields, strict=True)
    )
    columns = {f.name: _concat_column(f, a.columns[f.name], b.columns[f.name]) for f in fields}
    return Snapshot(fields, columns, a.n_rows + b.n_rows)


def _concat_column(f: Field, a: Column, b: Column) -> Column:
    if a.vocab is not None and b.vocab is not None:
        # Both vocabularies hold distinct values, so a sorted union plus an inverse maps both code sets.
        vocab, inverse = np.unique(np.concatenate([a.vocab, b.vocab]), return_inverse=True)
        inverse = inverse.astype(np.int32)
        # A trailing -1 sends null codes (-1) to null.
        a_map = np.append(inverse[: len(a.vocab)], np.int32(-1))
        b_map = np.append(inverse[len(a.vocab) :], np.int32(-1))
        codes = np.concatenate([a_map[a.values], b_map[b.values]]).astype(np.int32, copy=False)
        return Column(codes, vocab=vocab)
    values = np.concatenate([a.values, b.values])
    mask = None
    if f.type not in BOOL_TYPES and (f.nullable or a.mask is not None or b.mask is not None):
        mask = np.concatenate([a.null_mask(), b.null_mask()])
    return Column(values, mask=mask)


def take(snap: Snapshot, rows: np.ndarray) -> Snapshot:
    """The given rows (an index array), with string vocabularies trimmed to the values still used."""
    columns: dict[str, Column] = {}
    for f in snap.schema_fields:
        col = snap.columns[f.name]
        mask = col.mask[rows] if col.mask is not None else None
        values = col.values[rows]
        vocab = col.vocab
        if vocab is not None:
            used = np.unique(values[values >= 0])
            if len(used) < len(vocab):
                remap = np.full(len(vocab) + 1, -1, dtype=np.int32)
                remap[used] = np.arange(len(used), dtype=np.int32)
                values = remap[values]
                vocab = vocab[used]
        columns[f.name] = Column(values, vocab=vocab, mask=mask)
    return Snapshot(snap.schema_fields, columns, len(rows))


def upsert(old: Snapshot, new: Snapshot, id_field: str) -> Snapshot:
    """`old` with every row whose id appears in `new` replaced; where `new` repeats an id the later row wins.

    Order: the kept rows of `old` in their order, then the rows of `new` in the order of each id's last row.
    """
    both = concat(old, new)
    keys = both.columns[id_field].values
    # np.unique's index is the first occurrence; on the reversed keys that is the last one.
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    keep = np.sort(len(keys) - 1 - first_in_reversed)
    return take(both, keep)


# ---- reading values back ---------------------------------------------------------------------------


def column_values(snap: Snapshot, name: str) -> list[Any]:
    """The column's values as Python objects (None for null); for tests and small exports."""
    f = snap.field(name)
    col = snap.columns[name]
    if col.vocab is not None:
        vocab = col.vocab.tolist()
        return [vocab[c] if c >= 0 else None for c in col.values.tolist()]
    if f.type in BOOL_TYPES:
        return [None if v < 0 else bool(v) for v in col.values.tolist()]
    values = col.values.tolist()
    if col.mask is None:
        return values
    return [None if null else v for v, null in zip(values, col.mask.tolist(), strict=True)]


def widen(snap: Snapshot, fields: tuple[Field, ...]) -> Snapshot:
    """The snapshot under a wider schema (UpdateDataset may add fields): existing rows get nulls for them.

    ValueError if a field of the snapshot is missing from `fields` or changes type."""
    by_name = {f.name: f for f in fields}
    for old in snap.schema_fields:
        new = by_name.get(old.name)
        if new is None or new.type != old.type:
            raise ValueError(f"field {old.name} is missing or retyped in the new schema")
    n = snap.n_rows
    columns: dict[str, Column] = {}
    out_fields = []
    for f in fields:
        if f.name in snap.columns:
            old_col = snap.columns[f.name]
            nullable = f.nullable or snap.field(f.name).nullable
            out = replace(f, nullable=nullable)
            mask = old_col.mask
            if nullable and mask is None and f.type in INT_TYPES | FLOAT_TYPES:
                mask = np.zeros(n, dtype=bool)
            columns[f.name] = Column(old_col.values, vocab=old_col.vocab, mask=mask)
        else:
            out = replace(f, nullable=True)
            if f.type in STRING_TYPES:
                columns[f.name] = Column(np.full(n, -1, dtype=np.int32), vocab=np.zeros(0, dtype=np.str_))
            elif f.type in BOOL_TYPES:
                columns[f.name] = Column(np.full(n, -1, dtype=np.int8))
            else:
                dtype = np.int64 if f.type in INT_TYPES else np.float64
                columns[f.name] = Column(np.zeros(n, dtype=dtype), mask=np.ones(n, dtype=bool))
        out_fields.append(out)
    return Snapshot(tuple(out_fields), columns, n)
