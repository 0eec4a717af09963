"""Metric attribution reports in S3: what an import job with publishAttributionMetricsToS3 publishes.

Personalize writes, for each such import of interactions, a new CSV file to the metric attribution's
s3DataDestination ("AggregatedAttributionMetrics - ImportMethod - Timestamp.csv") with the header

    METRIC_NAME,EVENT_TYPE,VALUE,MATH_FUNCTION,EVENT_ATTRIBUTION_SOURCE,TIMESTAMP

and one row per metric, attribution source and 15-minute window, e.g.
``COUNTWATCHES,WATCH,12.0,samplecount,arn:aws:personalize:...:recommender/r1,1666925124``. Tailor writes the same
columns. What Personalize leaves open, Tailor settles so:

* the file is ``<path>/AggregatedAttributionMetrics-<importMode>-<epoch seconds>.csv``;
* a report covers every interaction of the dataset group: the imported snapshot (just written by the import) plus the
  events put through PutEvents, each in the window of its own TIMESTAMP; windows start at multiples of 900 epoch
  seconds, and TIMESTAMP is the window's start; rows are ordered by metric (as listed), window, source;
* an event's source is its EVENT_ATTRIBUTION_SOURCE (bulk column, or PutEvents' eventAttributionSource), else
  SOURCE_NAME_UNDEFINED; an event with a null value for a SUM() column, or whose item has no value, adds nothing;
* SUM(Items.COLUMN) reads the items as training sees them: the imported Items snapshot plus items put since.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from tailor import streamed
from tailor.operations import common
from tailor.operations.metric_attributions import (
    SOURCE_UNDEFINED,
    Metric,
    active_attribution,
    event_source,
    metrics_of,
)
from tailor.operations.schemas import load as load_schema
from tailor.ports import Resource
from tailor.service import Service
from tailor.snapshot import Snapshot, column_values, read_snapshot

logger = logging.getLogger("tailor.attribution")

WINDOW_SECONDS = 15 * 60  # Personalize aggregates attribution metrics over 15-minute windows
REPORT_COLUMNS = ("METRIC_NAME", "EVENT_TYPE", "VALUE", "MATH_FUNCTION", "EVENT_ATTRIBUTION_SOURCE", "TIMESTAMP")

# (index of the metric in the attribution, source, window start) -> total
Totals = dict[tuple[int, str, int], float]


def publish_for_import(svc: Service, import_job_arn: str) -> None:
    """The report of an import job that asked for one (publishAttributionMetricsToS3); nothing when the job imported
    something other than interactions, or the group has no ACTIVE metric attribution with an S3 destination."""
    write_report(svc, import_job_arn)


def publish_after_import(svc: Service, import_job_arn: str) -> None:
    """`publish_for_import` as the import job's last step: the data is imported whatever happens here, so a failure
    (the destination bucket refusing the write, say) is logged, not turned into a failed import."""
    try:
        publish_for_import(svc, import_job_arn)
    except Exception:
        logger.exception("could not publish the attribution metrics of import job %s", import_job_arn)


def write_report(svc: Service, import_job_arn: str) -> str | None:
    """Write the report of an import job's dataset group; the URI written, None when there is nothing to publish."""
    job = common.get(svc, import_job_arn, "dataset-import-job")
    dataset = common.get(svc, job.doc["datasetArn"], "dataset")
    if dataset.doc["datasetType"] != "INTERACTIONS":
        logger.info("import job %s imported %s data; attribution metrics are reported on interactions only",
                    job.arn, dataset.doc["datasetType"])
        return None
    group_arn = dataset.doc["datasetGroupArn"]
    attribution = active_attribution(svc, group_arn)
    output = (attribution.doc.get("metricsOutputConfig") or {}) if attribution is not None else {}
    destination = (output.get("s3DataDestination") or {}).get("path")
    if attribution is None or not destination:
        logger.warning("import job %s asked to publish attribution metrics to S3, but dataset group %s has no "
                       "ACTIVE metric attribution with an s3DataDestination", job.arn, group_arn)
        return None
    rows = report_rows(metrics_of(attribution), group_totals(svc, attribution, dataset))
    mode = job.doc.get("importMode") or "FULL"
    uri = f"{destination.rstrip('/')}/AggregatedAttributionMetrics-{mode}-{int(svc.now())}.csv"
    svc.blobs.put(uri, to_csv(rows))
    logger.info("published %d attribution metric rows of %s to %s", len(rows), attribution.arn, uri)
    return uri


def group_totals(svc: Service, attribution: Resource, interactions: Resource) -> Totals:
    """The attribution's metrics over every interaction of its group: the bulk snapshot, then the streamed events."""
    metrics = metrics_of(attribution)
    item_values = _item_values(svc, interactions.doc["datasetGroupArn"], metrics)
    totals: Totals = {}
    snapshot_uri = interactions.internal.get("snapshot")
    if snapshot_uri:
        _add_bulk(read_snapshot(svc.blobs, snapshot_uri), metrics, item_values, totals)
    for event in svc.events.group_events(interactions.doc["datasetGroupArn"]):
        window = int(event.timestamp // WINDOW_SECONDS * WINDOW_SECONDS)
        for i, metric in enumerate(metrics):
            amount = metric.event_amount(event)
            if metric.needs_items and event.event_type == metric.event_type and event.item_id is not None:
                amount = item_values[metric.name].get(event.item_id)
            if amount is not None:
                key = (i, event_source(event), window)
                totals[key] = totals.get(key, 0.0) + amount
    return totals


def _item_values(svc: Service, group_arn: str, metrics: Sequence[Metric]) -> dict[str, dict[str, float]]:
    """metric name -> item id -> the item's value of the column the metric sums, for the SUM(Items.*) metrics."""
    wanted = [m for m in metrics if m.needs_items]
    if not wanted:
        return {}
    items = next((d for d in common.children(svc, "dataset", group_arn) if d.doc.get("datasetType") == "ITEMS"), None)
    catalog: Snapshot | None = None
    if items is not None:
        schema = load_schema(common.get(svc, items.doc["schemaArn"], "schema"))
        bulk = read_snapshot(svc.blobs, items.internal["snapshot"]) if items.internal.get("snapshot") else None
        catalog = streamed.with_streamed(svc, items, schema, bulk)
    values: dict[str, dict[str, float]] = {}
    for metric in wanted:
        if catalog is None or metric.column not in catalog.columns:
            values[metric.name] = {}
            continue
        ids = column_values(catalog, "ITEM_ID")
        column = column_values(catalog, str(metric.column))
        values[metric.name] = {i: float(v) for i, v in zip(ids, column, strict=True) if v is not None}
    return values


def _add_bulk(snap: Snapshot, metrics: Sequence[Metric], item_values: Mapping[str, Mapping[str, float]],
              totals: Totals) -> None:
    """Add the imported interactions, a column at a time (a bulk import can hold millions of rows)."""
    if snap.n_rows == 0 or "EVENT_TYPE" not in snap.columns:
        return
    event_types = snap.columns["EVENT_TYPE"]
    vocab = event_types.vocab.tolist() if event_types.vocab is not None else []
    type_codes = {str(event_type): code for code, event_type in enumerate(vocab)}
    windows = snap.columns["TIMESTAMP"].values.astype(np.int64) // WINDOW_SECONDS * WINDOW_SECONDS
    source_col = snap.columns.get("EVENT_ATTRIBUTION_SOURCE")
    if source_col is not None and source_col.vocab is not None:
        sources = [*source_col.vocab.tolist(), SOURCE_UNDEFINED]
        source_codes = np.where(source_col.values < 0, len(sources) - 1, source_col.values)
    else:
        sources = [SOURCE_UNDEFINED]
        source_codes = np.zeros(snap.n_rows, dtype=np.int64)
    for i, metric in enumerate(metrics):
        code = type_codes.get(metric.event_type)
        if code is None:
            continue
        amounts = _bulk_amounts(snap, metric, item_values)
        keep = (event_types.values == code) & ~np.isnan(amounts)
        if not keep.any():
            continue
        keys = np.stack([source_codes[keep], windows[keep]])
        groups, inverse = np.unique(keys, axis=1, return_inverse=True)
        sums = np.bincount(inverse.ravel(), weights=amounts[keep], minlength=groups.shape[1])
        for (source, window), total in zip(groups.T.tolist(), sums.tolist(), strict=True):
            key = (i, sources[source], int(window))
            totals[key] = totals.get(key, 0.0) + total


def _bulk_amounts(snap: Snapshot, metric: Metric, item_values: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    """What each imported interaction adds to the metric (NaN: nothing), before matching its event type."""
    if metric.function == "SAMPLECOUNT":
        return np.ones(snap.n_rows)
    if metric.needs_items:
        items = snap.columns["ITEM_ID"]
        known = item_values.get(metric.name, {})
        vocab = items.vocab.tolist() if items.vocab is not None else []
        lookup = np.array([known.get(item, np.nan) for item in vocab] + [np.nan])
        return lookup[np.where(items.values < 0, len(vocab), items.values)]
    column = snap.columns.get(str(metric.column))
    if column is None:  # a field the dataset's schema gained after this data was imported
        return np.full(snap.n_rows, np.nan)
    amounts = column.values.astype(np.float64)
    return np.where(column.null_mask(), np.nan, amounts)


def report_rows(metrics: Sequence[Metric], totals: Totals) -> list[tuple[str, str, str, str, str, int]]:
    rows = []
    for (i, source, window), total in sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        metric = metrics[i]
        rows.append((metric.name, metric.event_type, str(round(total, 6)), metric.math_function, source, window))
    return rows


def to_csv(rows: Sequence[Sequence[object]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    writer.writerows(rows)
    return text.getvalue().encode()
