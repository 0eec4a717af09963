"""CloudWatch metrics: embedded-metric-format (EMF) lines inside Lambda, PutMetricData to local mode's CloudWatch.

Inside Lambda a JSON line on stdout in EMF becomes CloudWatch metrics without an API call on the request path (and
without cloudwatch:PutMetricData rights). Local mode (`tailor serve`, the pytest fixture, the demo) has no log
ingestion to do that: there `emit` hands the same EMF document, translated as CloudWatch translates it, to the
CloudWatch client the caller names (moto's, behind the local endpoint), so the metrics are queryable with a stock
`cloudwatch` client. Elsewhere (no Lambda, no local client) nothing is written; callers that have work to do before
they can emit (a read, a computation) ask `publishing()` first. Every metric of Tailor goes through `emit`, the API's
per-request metrics and the metric attributions': namespace, dimensions, names and units are decided once, by the EMF
document, whichever way it leaves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = "tailor"  # Powertools' "service" dimension on every line, as the deployed functions' POWERTOOLS_SERVICE_NAME

__all__ = ["SERVICE", "MetricUnit", "MetricsClient", "emit", "in_lambda", "publishing", "put_metric_data_requests"]


class MetricsClient(Protocol):
    """What `emit` needs of a boto3 `cloudwatch` client outside Lambda."""

    def put_metric_data(self, **kwargs: Any) -> Any: ...


def in_lambda() -> bool:
    """Whether this process is a Lambda function, where EMF lines on stdout become CloudWatch metrics."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def publishing(local: MetricsClient | None = None) -> bool:
    """Whether `emit` with this `local` client would publish anything."""
    return local is not None or in_lambda()


def emit(
    namespace: str,
    dimensions: Mapping[str, str],
    values: Mapping[str, tuple[float, MetricUnit]],
    *,
    timestamp: float | None = None,
    local: MetricsClient | None = None,
) -> None:
    """Publish `values` (metric name -> (value, unit)) under one set of `dimensions` (plus the service dimension),
    dated `timestamp` (epoch seconds; the time of writing when None): one EMF line inside Lambda, else one
    PutMetricData call to `local` (local mode's CloudWatch); nothing without either, or when there are no values.

    A fresh EphemeralMetrics per call: Powertools' `Metrics` shares its metrics and dimensions between all instances
    of the process, so lines with different dimensions (one per attribution source, say) would mix."""
    lambda_ = in_lambda()
    if not values or (local is None and not lambda_):
        return
    metrics = EphemeralMetrics(namespace=namespace, service=SERVICE)
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for name, (amount, unit) in values.items():
        metrics.add_metric(name=name, unit=unit, value=amount)
    if timestamp is not None:
        metrics.set_timestamp(int(timestamp * 1000))
    if lambda_:  # the deployed behaviour: a line on stdout, no API call on the request path
        metrics.flush_metrics()
    elif local is not None:
        for request in put_metric_data_requests(metrics.serialize_metric_set()):
            local.put_metric_data(**request)


def put_metric_data_requests(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The PutMetricData requests that record what CloudWatch Logs extracts from one EMF document: per directive
    (one namespace each), every metric under every dimension set, each value of the metric one data point, dated
    the document's Timestamp (epoch milliseconds)."""
    aws = document["_aws"]
    when = datetime.fromtimestamp(aws["Timestamp"] / 1000, tz=UTC)
    requests = []
    for directive in aws["CloudWatchMetrics"]:
        data = []
        for dimension_set in directive["Dimensions"]:
            dims = [{"Name": name, "Value": str(document[name])} for name in dimension_set]
            for definition in directive["Metrics"]:
                raw = document[definition["Name"]]
                datum: dict[str, Any] = {
                    "MetricName": definition["Name"], "Dimensions": dims, "Timestamp": when,
                    "Values": [float(v) for v in (raw if isinstance(raw, list) else [raw])],
                }
                if definition.get("Unit"):
                    datum["Unit"] = definition["Unit"]
                if definition.get("StorageResolution"):
                    datum["StorageResolution"] = definition["StorageResolution"]
                data.append(datum)
        if data:
            requests.append({"Namespace": directive["Namespace"], "MetricData": data})
    return requests
