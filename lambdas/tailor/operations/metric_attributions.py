"""Metric attributions: Create / Describe / List / Update / Delete and ListMetricAttributionMetrics.

A metric attribution names up to 10 metrics of one dataset group, each an event type and a function of the events of
that type: SAMPLECOUNT() counts them, SUM(Interactions.COLUMN) / SUM(Items.COLUMN) adds a numeric column of the event
or of its item. Tailor reports them as Personalize does, per event attribution source (an event's
metricAttribution.eventAttributionSource, or its bulk EVENT_ATTRIBUTION_SOURCE column; SOURCE_NAME_UNDEFINED when it
has none):

* events put through PutEvents become CloudWatch metrics at once (`report_events` through tailor.cloudwatch: EMF
  lines inside Lambda, PutMetricData to moto's CloudWatch in local mode; logged at DEBUG elsewhere), under NAMESPACE
  with the dimensions service (= tailor), MetricAttributionArn and EventAttributionSource, one data point per metric,
  source and minute. SUM(Items.*) needs each event's item record, a read PutEvents does not make: those metrics are
  in the S3 reports only.
* an import job with publishAttributionMetricsToS3 writes a CSV report of every interaction of the group to the
  attribution's s3DataDestination (tailor.attribution).

The metrics are kept in the resource's `internal` part (the MetricAttribution shape has no member for them), already
checked against the dataset schemas, with the column named as the schema names it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tailor import cloudwatch
from tailor.errors import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceInUseException,
)
from tailor.operations import common
from tailor.operations.schemas import load as load_schema
from tailor.ports import Resource, StoredEvent
from tailor.schemas import Schema
from tailor.service import Service

logger = logging.getLogger("tailor.attribution")

KIND = "metric-attribution"
MAX_METRICS = 10  # per metric attribution (Personalize's quota; the model's MetricAttributes max)
SOURCE_UNDEFINED = "SOURCE_NAME_UNDEFINED"  # how Personalize labels events that name no source
# CloudWatch reserves namespaces that begin with "AWS/" for AWS's own services, so Tailor cannot publish under
# Personalize's; its attribution metrics have a namespace of their own.
NAMESPACE = "Tailor/MetricAttribution"
# CloudWatch takes data points at most 14 days old and 2 hours ahead (and Personalize reports only events younger
# than 14 days to CloudWatch); other events still count in the S3 reports.
CLOUDWATCH_MAX_AGE = 14 * 24 * 3600
CLOUDWATCH_MAX_AHEAD = 2 * 3600
_MINUTE = 60  # CloudWatch's finest standard resolution: the events of a batch are dated to their minute

DATASET_TYPES = {"INTERACTIONS": "Interactions", "ITEMS": "Items"}  # what SUM() may read, and how it is written
NUMERIC_TYPES = frozenset({"int", "long", "float", "double"})
_SAMPLECOUNT = re.compile(r"\s*SAMPLECOUNT\s*\(\s*\)\s*", re.IGNORECASE)
_SUM = re.compile(r"\s*SUM\s*\(\s*([A-Za-z_]+)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", re.IGNORECASE)
_PRINTABLE = re.compile(r"[\x20-\x7E]*[\x21-\x7E][\x20-\x7E]*")  # non-blank printable ASCII (metric names)
_GRAMMAR = ("use SAMPLECOUNT() or SUM(DatasetType.COLUMN) with DatasetType Interactions or Items, "
            "for example SUM(Items.PRICE)")


@dataclass(frozen=True)
class Metric:
    """One metric of an attribution: its wire members plus the parsed expression."""

    event_type: str
    name: str
    expression: str  # as the caller wrote it (ListMetricAttributionMetrics returns it unchanged)
    function: str  # "SUM" or "SAMPLECOUNT"
    dataset_type: str | None = None  # "INTERACTIONS" or "ITEMS" for SUM
    column: str | None = None  # the schema's field name for SUM

    @property
    def math_function(self) -> str:
        """The function as Personalize's S3 reports write it (MATH_FUNCTION: samplecount, sum)."""
        return self.function.lower()

    @property
    def unit(self) -> cloudwatch.MetricUnit:
        return cloudwatch.MetricUnit.Count if self.function == "SAMPLECOUNT" else cloudwatch.MetricUnit.NoUnit

    @property
    def needs_items(self) -> bool:
        return self.dataset_type == "ITEMS"

    def event_amount(self, event: StoredEvent) -> float | None:
        """What one event adds to this metric, None when it adds nothing: another event type, or a SUM whose value
        is unknown (a null column). SUM(Items.*) is not known from the event alone: None here (see the module doc)."""
        if event.event_type != self.event_type:
            return None
        if self.function == "SAMPLECOUNT":
            return 1.0
        if self.dataset_type != "INTERACTIONS" or self.column is None:
            return None
        value = event.event_value if self.column == "EVENT_VALUE" else event.properties.get(self.column)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def wire(self) -> dict[str, str]:
        return {"eventType": self.event_type, "metricName": self.name, "expression": self.expression}

    def stored(self) -> dict[str, Any]:
        return {**self.wire(), "function": self.function, "datasetType": self.dataset_type, "column": self.column}

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Metric:
        return cls(event_type=data["eventType"], name=data["metricName"], expression=data["expression"],
                   function=data["function"], dataset_type=data.get("datasetType"), column=data.get("column"))


def metrics_of(attribution: Resource) -> list[Metric]:
    return [Metric.from_stored(m) for m in attribution.internal.get("metrics") or []]


def event_source(event: StoredEvent) -> str:
    """The attribution source an event is reported under. Personalize would also name the campaign or recommender of
    an event's recommendationId; Tailor's recommendation ids do not record which campaign issued them, so such an
    event without an eventAttributionSource is SOURCE_NAME_UNDEFINED."""
    return event.event_attribution_source or event.properties.get("EVENT_ATTRIBUTION_SOURCE") or SOURCE_UNDEFINED


# ---- checking what callers send --------------------------------------------------------------------------


def _group_schemas(svc: Service, group_arn: str) -> dict[str, Schema]:
    """The schemas of the group's Interactions and Items datasets, by dataset type."""
    found: dict[str, Schema] = {}
    for dataset in common.children(svc, "dataset", group_arn):
        dataset_type = dataset.doc.get("datasetType")
        if dataset_type in DATASET_TYPES and dataset.status not in common.DELETING:
            found[dataset_type] = load_schema(common.get(svc, dataset.doc["schemaArn"], "schema"))
    return found


def _parse_metric(raw: Mapping[str, Any], where: str, schemas_by_type: Mapping[str, Schema],
                  group_arn: str) -> Metric:
    event_type, name, expression = raw["eventType"], raw["metricName"], raw["expression"]
    if not event_type.strip():
        raise InvalidInputException(f"{where}.eventType must name an event type, such as click or purchase")
    if not _PRINTABLE.fullmatch(name):
        raise InvalidInputException(
            f"{where}.metricName {name!r} must be printable ASCII and not blank: it names the metric in CloudWatch "
            "and in the S3 reports"
        )
    if _SAMPLECOUNT.fullmatch(expression):
        return Metric(event_type, name, expression, "SAMPLECOUNT")
    match = _SUM.fullmatch(expression)
    if match is None:
        raise InvalidInputException(f"{where}.expression {expression!r} is not a metric expression: {_GRAMMAR}")
    dataset_name, column_name = match.groups()
    dataset_type = dataset_name.upper()
    if dataset_type not in DATASET_TYPES:
        raise InvalidInputException(
            f"{where}.expression {expression!r}: SUM() adds a column of the Interactions or Items dataset, "
            f"not of {dataset_name}"
        )
    label = DATASET_TYPES[dataset_type]
    schema = schemas_by_type.get(dataset_type)
    if schema is None:
        raise InvalidInputException(
            f"{where}.expression {expression!r} sums {label}.{column_name}, but dataset group {group_arn} has no "
            f"{label} dataset; create it first"
        )
    field = next((f for f in schema.fields if f.name.upper() == column_name.upper()), None)
    numeric = [f.name for f in schema.fields if f.type in NUMERIC_TYPES]
    if field is None:
        raise InvalidInputException(
            f"{where}.expression {expression!r} sums {label}.{column_name}, but the {label} schema has no field "
            f"{column_name} (its numeric fields: {', '.join(numeric) or 'none'})"
        )
    if field.type not in NUMERIC_TYPES:
        raise InvalidInputException(
            f"{where}.expression {expression!r} sums {label}.{field.name}, a {field.type} field; SUM() takes a "
            f"numeric (int, long, float or double) field (the {label} schema's: {', '.join(numeric) or 'none'})"
        )
    return Metric(event_type, name, expression, "SUM", dataset_type, field.name)


def _parse_metrics(raws: Sequence[Mapping[str, Any]], list_name: str, schemas_by_type: Mapping[str, Schema],
                   group_arn: str, kept: Sequence[Metric] = ()) -> list[Metric]:
    """The metrics of a request checked; `kept` are the attribution's metrics they join (UpdateMetricAttribution)."""
    taken = {m.name for m in kept}
    metrics: list[Metric] = []
    for i, raw in enumerate(raws):
        metric = _parse_metric(raw, f"{list_name}[{i}]", schemas_by_type, group_arn)
        if metric.name in taken:
            raise ResourceAlreadyExistsException(
                f"{list_name}[{i}].metricName {metric.name} is already a metric of the metric attribution; "
                "metric names must be unique (remove it first to change it)"
            )
        if any(m.name == metric.name for m in metrics):
            raise InvalidInputException(f"{list_name} names metric {metric.name} twice; metric names must be unique")
        metrics.append(metric)
    total = len(kept) + len(metrics)
    if total > MAX_METRICS:
        raise InvalidInputException(
            f"A metric attribution can have at most {MAX_METRICS} metrics; this would make it {total}"
        )
    if total == 0:
        raise InvalidInputException("A metric attribution needs at least one metric")
    return metrics


def _check_interactions_schema(schemas_by_type: Mapping[str, Schema]) -> None:
    interactions = schemas_by_type.get("INTERACTIONS")
    if interactions is not None and interactions.field("EVENT_TYPE") is None:
        raise InvalidInputException(
            "A metric attribution reports on event types: the dataset group's Interactions schema must have an "
            "EVENT_TYPE field"
        )


def _checked_output(svc: Service, config: Mapping[str, Any], where: str) -> dict[str, Any]:
    destination = config.get("s3DataDestination")
    if destination is not None:
        common.s3_path(svc, destination.get("path"), f"{where}.s3DataDestination.path")
    return dict(config)


# ---- operations ------------------------------------------------------------------------------------------


def create_metric_attribution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    common.refuse_second(svc, KIND, group, " (add metrics to it with UpdateMetricAttribution)")
    schemas_by_type = _group_schemas(svc, group.arn)
    _check_interactions_schema(schemas_by_type)
    metrics = _parse_metrics(req["metrics"], "metrics", schemas_by_type, group.arn)
    output = _checked_output(svc, req["metricsOutputConfig"], "metricsOutputConfig")
    arn = svc.arn(KIND, req["name"])
    doc = {
        "name": req["name"],
        "metricAttributionArn": arn,
        "datasetGroupArn": group.arn,
        "metricsOutputConfig": output,
        "status": common.CREATE_PENDING,
    }
    common.new_resource(
        svc, KIND, arn, doc, parent=group.arn,
        # The per-group lock makes "one metric attribution per dataset group" hold under concurrent creates too.
        locks=(f"metric-attribution-of#{group.arn}",),
        internal={"metrics": [m.stored() for m in metrics]},
    )
    svc.launcher.launch("activate", arn)
    return {"metricAttributionArn": arn}


def describe_metric_attribution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["metricAttributionArn"], KIND, "metricAttribution")


def list_metric_attributions(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "MetricAttributionSummary", "metricAttributions", "datasetGroupArn",
                          "dataset-group")


def _required_arn(req: Mapping[str, Any]) -> str:
    arn = req.get("metricAttributionArn")
    if not arn:
        raise InvalidInputException("metricAttributionArn is required")
    return str(arn)


def list_metric_attribution_metrics(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    attribution = common.get(svc, _required_arn(req), KIND)
    metrics = metrics_of(attribution)
    limit = int(req.get("maxResults") or common.DEFAULT_PAGE)
    scope = f"{KIND}-metrics|{attribution.arn}"
    start = int(svc.decode_token(req["nextToken"], scope).get("offset", 0)) if req.get("nextToken") else 0
    page = metrics[start : start + limit]
    token = {"nextToken": svc.encode_token({"offset": start + limit}, scope)} if start + limit < len(metrics) else {}
    return {"metrics": [m.wire() for m in page], **token}


def update_metric_attribution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    """addMetrics, removeMetrics (removed first, so one call can replace a metric) and metricsOutputConfig; applied at
    once: the attribution stays ACTIVE."""
    attribution = common.get(svc, _required_arn(req), KIND)
    add, remove, output = req.get("addMetrics") or [], req.get("removeMetrics") or [], req.get("metricsOutputConfig")
    if not add and not remove and output is None:
        raise InvalidInputException("Nothing to update: give addMetrics, removeMetrics or metricsOutputConfig")
    attribution = common.require_active(attribution, svc)
    current = metrics_of(attribution)
    names = [m.name for m in current]
    for i, name in enumerate(remove):
        if name not in names:
            raise InvalidInputException(
                f"removeMetrics[{i}]: the metric attribution has no metric {name} (its metrics: {', '.join(names)})"
            )
    kept = [m for m in current if m.name not in set(remove)]
    group_arn = attribution.doc["datasetGroupArn"]
    added = _parse_metrics(add, "addMetrics", _group_schemas(svc, group_arn) if add else {}, group_arn, kept)
    changes: dict[str, Any] = {"lastUpdatedDateTime": svc.now()}
    if output is not None:
        changes["metricsOutputConfig"] = _checked_output(svc, output, "metricsOutputConfig")
    before = attribution.internal.get("metrics")

    def unchanged_since_read(current: Resource) -> None:
        if current.internal.get("metrics") != before:
            raise ResourceInUseException(f"The metric attribution {attribution.arn} was just updated; try again")

    svc.store.update(
        attribution.arn, changes, internal_changes={"metrics": [m.stored() for m in [*kept, *added]]},
        expect_status=frozenset({common.ACTIVE}), check=unchanged_since_read,
    )
    return {"metricAttributionArn": attribution.arn}


def delete_metric_attribution(svc: Service, req: dict[str, Any]) -> None:
    common.start_delete(svc, common.get(svc, req["metricAttributionArn"], KIND))


# ---- PutEvents: the events of a batch as CloudWatch metrics -----------------------------------------------


def active_attribution(svc: Service, group_arn: str, *, cached: bool = False) -> Resource | None:
    """The dataset group's ACTIVE metric attribution, None if it has none. `cached`: through the request paths'
    per-process read cache (common.cached_children), for PutEvents."""
    found = common.cached_children(svc, KIND, group_arn) if cached else common.children(svc, KIND, group_arn)
    return next((a for a in found if a.status == common.ACTIVE), None)


def batch_totals(metrics: Sequence[Metric], events: Sequence[StoredEvent], now: float,
                 ) -> dict[tuple[str, float], dict[str, tuple[float, Metric]]]:
    """(source, minute) -> metric name -> (total, metric) over the events CloudWatch takes (younger than 14 days,
    at most 2 hours ahead of `now`). Metrics no event of a (source, minute) adds to are left out."""
    totals: dict[tuple[str, float], dict[str, tuple[float, Metric]]] = {}
    for event in events:
        if not now - CLOUDWATCH_MAX_AGE <= event.timestamp <= now + CLOUDWATCH_MAX_AHEAD:
            continue
        key = (event_source(event), event.timestamp // _MINUTE * _MINUTE)
        for metric in metrics:
            amount = metric.event_amount(event)
            if amount is not None:
                values = totals.setdefault(key, {})
                values[metric.name] = (values.get(metric.name, (0.0, metric))[0] + amount, metric)
    return totals


def report_events(svc: Service, group_arn: str, events: Sequence[StoredEvent]) -> None:
    """After PutEvents stored `events`: the group's attribution metrics over them, published (tailor.cloudwatch.emit)
    once per attribution source and minute: an EMF line inside Lambda, PutMetricData to local mode's CloudWatch; also
    a DEBUG log line. Where nothing publishes and DEBUG is off this returns before reading anything; inside Lambda the
    attribution comes from the per-process read cache. Best effort: the events are stored, so a failure here is
    logged, never returned to the caller."""
    publish = cloudwatch.publishing(svc.local_metrics)
    if not publish and not logger.isEnabledFor(logging.DEBUG):
        return
    try:
        attribution = active_attribution(svc, group_arn, cached=True)
        if attribution is None:
            return
        metrics = [m for m in metrics_of(attribution) if not m.needs_items]
        for (source, minute), values in batch_totals(metrics, events, svc.now()).items():
            dimensions = {"MetricAttributionArn": attribution.arn, "EventAttributionSource": source}
            logger.debug("attribution metrics %s at %d: %s", dimensions, minute,
                         {name: total for name, (total, _) in values.items()})
            cloudwatch.emit(NAMESPACE, dimensions, {name: (total, m.unit) for name, (total, m) in values.items()},
                            timestamp=minute, local=svc.local_metrics)
    except Exception:
        logger.exception("could not report the attribution metrics of %d events of %s", len(events), group_arn)
