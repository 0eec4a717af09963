"""The work behind CreateDatasetExportJob and CreateDataDeletionJob (tailor.jobs runs it, as "export" and
"delete-data").

Export: a dataset's rows as CSV in the caller's S3, the header being the schema's field names in schema order, the
format an import reads (reference §4.7), so an export can be imported again. `ingestionMode` picks the rows, as the
Personalize developer guide ("Exporting a dataset") describes:

* BULK: what import jobs loaded (the dataset's snapshot);
* PUT: what PutEvents / PutItems / PutUsers stored (the events store keeps the latest version of each item or user);
* ALL: both, merged as training merges them (tailor.streamed): every interaction, and for items and users one row per
  id, the put record replacing the imported row.

Rows that match exactly in every field are exported once, as Personalize documents.

Output objects. Personalize documents only that the job writes "one or more CSV files" with a header row under the
`jobOutput.s3DataDestination.path` given (e.g. s3://bucket/folder/); it does not document their names. Tailor writes
them into a folder named after the job, `<path>/<jobName>/part-00000.csv`, `part-00001.csv`, ..., at most
EXPORT_ROWS_PER_FILE rows each: job names are unique, so two exports to one path never mix, and the folder is a valid
`dataLocation` for CreateDatasetImportJob as it is. Lines end in CRLF (RFC 4180), so that any value holding a line
break is quoted.

Data deletion: a CSV (a file or a folder of them) with a single USER_ID column lists the users to delete from the
dataset group. The whole list is read and checked (as an import checks a file, with file and line in the reason)
before anything is deleted. Then, for each user, the events put with PutEvents go from the events store, which keeps
a tombstone dated now in their place, and the records put with PutUsers go; then each dataset's imported rows of
those users go, one atomic switch per dataset to a rewritten snapshot, after which the snapshots that still hold them
are deleted. The next solution version trains without them, and the runtime (tailor.serving.recommend._history) no
longer uses the history that a model trained before the tombstone holds for them.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence

import numpy as np

from tailor.imports import ImportFailed, import_csv
from tailor.jobs import fail
from tailor.operations import common
from tailor.operations.data_jobs import (
    COMPLETED,
    DEFAULT_INGESTION_MODE,
    DELETION_KIND,
    DELETION_RUNNING,
    IN_PROGRESS,
    PENDING,
)
from tailor.operations.schemas import load as load_schema
from tailor.ports import BlobStore, Resource
from tailor.schemas import Field, Schema
from tailor.service import Service
from tailor.snapshot import (
    BOOL_TYPES,
    FLOAT_TYPES,
    Column,
    Snapshot,
    read_snapshot,
    take,
    widen,
    write_snapshot,
)
from tailor.streamed import with_streamed

logger = logging.getLogger("tailor.data_jobs")

EXPORT_ROWS_PER_FILE = 1_000_000
_ROWS_PER_WRITE = 65_536  # rows turned into text at a time
SWITCH_ATTEMPTS = 5  # a dataset whose data keeps changing under a job (imports, deletions running) fails the job

# The deletion list is read as a one-column dataset, with every check an import makes of a USER_ID column.
_USER_LIST = Schema("UserIds", (Field("USER_ID", "string"),))


class _Failed(Exception):
    """The job cannot go ahead; `reason` becomes its failureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _fail(svc: Service, arn: str, reason: str) -> None:
    logger.info("%s failed: %s", arn, reason)
    fail(svc, arn, reason)


# ---- export ---------------------------------------------------------------------------------------------------------


def export_folder(path: str, job_name: str) -> str:
    """Where a job's CSV files go: a folder named after the job under the output path (see the module docstring)."""
    return f"{path.rstrip('/')}/{job_name}/"


def export_dataset(svc: Service, arn: str) -> None:
    """CREATE PENDING → CREATE IN_PROGRESS → ACTIVE (the CSV files written) or CREATE FAILED with a reason."""
    job = common.advance(svc, arn, common.CREATE_PENDING, common.CREATE_IN_PROGRESS)
    try:
        rows = _rows_to_export(svc, job.doc["datasetArn"], job.doc.get("ingestionMode") or DEFAULT_INGESTION_MODE)
        folder = export_folder(job.doc["jobOutput"]["s3DataDestination"]["path"], job.doc["jobName"])
        files = write_csv(svc.blobs, folder, rows)
    except _Failed as failure:
        _fail(svc, arn, failure.reason)
        return
    logger.info("exported %d rows of %s to %d file(s) in %s", rows.n_rows, job.doc["datasetArn"], len(files), folder)
    common.advance(svc, arn, common.CREATE_IN_PROGRESS, common.ACTIVE)


def _rows_to_export(svc: Service, dataset_arn: str, mode: str) -> Snapshot:
    dataset = svc.store.get(dataset_arn)
    if dataset is None or dataset.status != common.ACTIVE:
        status = "gone" if dataset is None else f"in status {dataset.status}"
        raise _Failed(f"The dataset {dataset_arn} is {status}; it must be ACTIVE to be exported")
    schema = load_schema(common.get(svc, dataset.doc["schemaArn"], "schema"))
    bulk = None
    uri = dataset.internal.get("snapshot")
    if mode in ("BULK", "ALL") and uri:
        bulk = read_snapshot(svc.blobs, uri)
        if bulk.field_names != schema.field_names:
            bulk = widen(bulk, schema.fields)  # UpdateDataset added fields since the import: they export empty
    rows = bulk
    if mode in ("PUT", "ALL"):
        try:
            rows = with_streamed(svc, dataset, schema, bulk)
        except ImportFailed as failure:
            raise _Failed(f"The records put into {dataset.arn} could not be read: {failure.reason}") from None
    return distinct_rows(rows if rows is not None else Snapshot.empty(schema.fields))


def distinct_rows(snap: Snapshot) -> Snapshot:
    """The snapshot without rows that repeat an earlier row in every field (the first of each kept, in order)."""
    if snap.n_rows < 2:
        return snap
    keys = np.column_stack([key for f in snap.schema_fields for key in _row_keys(f, snap.columns[f.name])])
    _, first = np.unique(keys, axis=0, return_index=True)
    return snap if len(first) == snap.n_rows else take(snap, np.sort(first))


def _row_keys(f: Field, col: Column) -> list[np.ndarray]:
    """int64 columns that are equal for two rows exactly when the field's values are (nulls equal each other)."""
    if col.vocab is not None or f.type in BOOL_TYPES:
        return [col.values.astype(np.int64)]  # dictionary codes (one vocabulary per column) or -1/0/1
    null = col.null_mask()
    if f.type in FLOAT_TYPES:
        values = np.where(null, 0.0, col.values) + 0.0  # + 0.0 turns -0.0 into 0.0
        return [values.view(np.int64), null.astype(np.int64)]
    return [np.where(null, 0, col.values), null.astype(np.int64)]


def write_csv(blobs: BlobStore, folder: str, snap: Snapshot) -> list[str]:
    """Write the rows as part-00000.csv, ... (a header in each) under `folder`; the files written, in order. A failure
    deletes the files already written, so a failed export leaves nothing behind."""
    written: list[str] = []
    try:
        next(iter(blobs.list(folder)), None)  # the bucket must exist and be listable before anything is written
        for part, start in enumerate(range(0, max(snap.n_rows, 1), EXPORT_ROWS_PER_FILE)):
            uri = f"{folder}part-{part:05d}.csv"
            with blobs.create(uri) as out:
                text = io.TextIOWrapper(out, encoding="utf-8", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow(snap.field_names)
                stop = min(start + EXPORT_ROWS_PER_FILE, snap.n_rows)
                for low in range(start, stop, _ROWS_PER_WRITE):
                    high = min(low + _ROWS_PER_WRITE, stop)
                    cells = [_texts(f, snap.columns[f.name], low, high) for f in snap.schema_fields]
                    writer.writerows(zip(*cells, strict=True))
                text.flush()
                text.detach()  # the blob store closes the stream it gave
            written.append(uri)
    except (FileNotFoundError, PermissionError) as err:
        _delete_all(blobs, written)
        raise _Failed(f"Could not write the export to {folder}: {err}") from None
    except BaseException:
        _delete_all(blobs, written)
        raise
    return written


def _delete_all(blobs: BlobStore, uris: Sequence[str]) -> None:
    for uri in uris:
        blobs.delete(uri)


def _texts(f: Field, col: Column, low: int, high: int) -> list[str]:
    """Rows low..high of a column as CSV cells, the way an import reads them back ('' = null)."""
    values = col.values[low:high]
    if col.vocab is not None:
        return np.append(col.vocab, "")[values].tolist()  # code -1 (null) picks the appended ''
    if f.type in BOOL_TYPES:
        return np.array(["", "false", "true"])[values + 1].tolist()
    # repr of a Python float is the shortest text that reads back as the same float.
    to_text = repr if f.type in FLOAT_TYPES else str
    texts = [to_text(v) for v in values.tolist()]
    if col.mask is not None:
        for i in np.flatnonzero(col.mask[low:high]).tolist():
            texts[i] = ""
    return texts


# ---- data deletion --------------------------------------------------------------------------------------------------


def read_user_ids(blobs: BlobStore, location: str) -> list[str]:
    """The distinct user ids listed at `location` (a CSV file or a folder of them, header USER_ID); ImportFailed with
    the file and line of the first problem."""
    users, _ = import_csv(blobs, location, _USER_LIST, "USERS", "FULL", None, strict=True)
    vocab = users.columns["USER_ID"].vocab  # one row per user: the vocabulary is the list
    return [] if vocab is None else [str(user) for user in vocab.tolist()]


def delete_users(svc: Service, arn: str) -> None:
    """PENDING → IN_PROGRESS → COMPLETED (numDeleted = the records deleted) or FAILED with a reason."""
    job = common.advance(svc, arn, PENDING, IN_PROGRESS)
    group_arn = job.doc["datasetGroupArn"]
    try:
        users = read_user_ids(svc.blobs, job.doc["dataSource"]["dataLocation"])
    except ImportFailed as failure:
        _fail(svc, arn, f"The list of users to delete could not be read: {failure.reason}")
        return
    except (FileNotFoundError, PermissionError) as err:  # the bucket is missing or not readable
        _fail(svc, arn, f"The list of users to delete could not be read: {err}")
        return
    deleted_at = svc.now()
    datasets = common.children(svc, "dataset", group_arn)
    deleted = 0
    # The events store first: its tombstones make the runtime stop using the users' trained history at once.
    for user in users:
        deleted += svc.events.delete_user(group_arn, user, deleted_at)
    for dataset in datasets:
        if dataset.doc.get("datasetType") == "USERS":
            deleted += svc.events.delete_records(dataset.arn, users)
    for dataset in datasets:
        deleted += _delete_imported_rows(svc, dataset.arn, users, job.doc["jobName"])
    logger.info("deleted %d records of %d user(s) from %s", deleted, len(users), group_arn)
    common.advance(svc, arn, IN_PROGRESS, COMPLETED, numDeleted=deleted)


class SnapshotChanged(Exception):
    """Another job switched the dataset to new data while this one was writing from the old: a deletion rewriting it,
    or an import merging into it. The job reads the new data and tries again."""


def switch_snapshot(svc: Service, dataset_arn: str, read: str | None, new_uri: str, rows: int) -> None:
    """Point the dataset at `new_uri` in one conditional write, made only if it still points at `read` (what the job
    read), so no job's switch undoes another's: SnapshotChanged otherwise."""

    def unchanged(current: Resource) -> None:
        if current.internal.get("snapshot") != read:
            raise SnapshotChanged

    svc.store.update(dataset_arn, {"lastUpdatedDateTime": svc.now()},
                     internal_changes={"snapshot": new_uri, "rows": rows}, check=unchanged)


def users_deleted_since(svc: Service, group_arn: str, since: float) -> list[str]:
    """The users an import created at `since` must not bring back: those of the group's data deletion jobs still to
    finish, or finished since. Personalize's promise is that deleted users are gone whichever job ends last; an
    import created after a deletion finished is new data and keeps its users. A list that cannot be read is skipped
    here: its deletion job fails on it and deletes nobody."""
    users: set[str] = set()
    for job in common.children(svc, DELETION_KIND, group_arn):
        finished_since = job.status == COMPLETED and float(job.doc["lastUpdatedDateTime"]) >= since
        if job.status in DELETION_RUNNING or finished_since:
            try:
                users.update(read_user_ids(svc.blobs, job.doc["dataSource"]["dataLocation"]))
            except (ImportFailed, FileNotFoundError, PermissionError):
                continue
    return sorted(users)


def without_users(snapshot: Snapshot, users: Sequence[str]) -> Snapshot:
    """`snapshot` less the rows of `users` (itself when it has none of them)."""
    if not users or snapshot.n_rows == 0 or "USER_ID" not in snapshot.columns:
        return snapshot
    keep = ~_rows_of(snapshot.columns["USER_ID"], users)
    return snapshot if keep.all() else take(snapshot, np.flatnonzero(keep))


def _delete_imported_rows(svc: Service, dataset_arn: str, users: Sequence[str], job_name: str) -> int:
    """Remove the users' rows from the dataset's imported data; how many rows went.

    The rewritten snapshot replaces the old in one conditional write (readers see the old data or the new, never
    half), made only if no import switched the dataset meanwhile (then the new data is rewritten in turn). The
    snapshots that still hold the users are deleted after the switch."""
    for _ in range(SWITCH_ATTEMPTS):
        dataset = svc.store.get(dataset_arn)
        uri = dataset.internal.get("snapshot") if dataset is not None else None
        if dataset is None or dataset.status in common.DELETING or not uri:
            return 0  # nothing imported, or the dataset and its data are going anyway
        snap = read_snapshot(svc.blobs, uri)
        kept = without_users(snap, users)
        removed = snap.n_rows - kept.n_rows
        if removed == 0:
            return 0
        # Import job names cannot hold a ".", so this never names an import's snapshot.
        new_uri = f"{uri.rsplit('/', 1)[0]}/{job_name}.deleted.npz"
        write_snapshot(svc.blobs, new_uri, kept)
        try:
            switch_snapshot(svc, dataset_arn, uri, new_uri, kept.n_rows)
        except SnapshotChanged:
            continue
        _delete_superseded(svc, dataset, new_uri)
        return removed
    raise RuntimeError(f"The data of {dataset_arn} kept changing during the deletion (imports running?); run the "
                       "data deletion job again once they are done")


def _rows_of(user_column: Column, users: Sequence[str]) -> np.ndarray:
    """A bool per row: is its USER_ID one of `users`."""
    assert user_column.vocab is not None
    listed = np.isin(user_column.vocab, np.array(list(users), dtype=np.str_))
    return np.append(listed, False)[user_column.values]  # a null id (-1) picks the appended False


def _delete_superseded(svc: Service, dataset: Resource, current_uri: str) -> None:
    """Delete the dataset's earlier snapshots (import_dataset keeps each import's): they hold the deleted users.
    Spared: the current one and those jobs still running are writing (they switch to theirs when done)."""
    folder = current_uri.rsplit("/", 1)[0] + "/"
    spared = {current_uri}
    for job in common.children(svc, "dataset-import-job", dataset.arn):
        if job.status in common.IN_FLIGHT:
            spared.add(f"{folder}{job.doc['jobName']}.npz")
    for job in common.children(svc, DELETION_KIND, dataset.doc["datasetGroupArn"]):
        if job.status in DELETION_RUNNING:
            spared.add(f"{folder}{job.doc['jobName']}.deleted.npz")
    for uri in list(svc.blobs.list(folder)):
        if uri not in spared and uri.endswith(".npz"):
            svc.blobs.delete(uri)
