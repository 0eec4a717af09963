"""CloudWatch metrics as embedded-metric-format (EMF) log lines, written only inside Lambda.

Inside Lambda a JSON line on stdout in EMF becomes CloudWatch metrics without an API call on the request path (and
without cloudwatch:PutMetricData rights). Locally and in tests such lines would only flood stdout, so nothing is
written outside Lambda; callers that have work to do before they can emit (a read, a computation) ask `in_lambda()`
first. Every metric line of Tailor goes through `emit`, the API's per-request metrics and the metric attributions'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = "tailor"  # Powertools' "service" dimension on every line, as the deployed functions' POWERTOOLS_SERVICE_NAME

__all__ = ["SERVICE", "MetricUnit", "emit", "in_lambda"]


def in_lambda() -> bool:
    """Whether this process is a Lambda function, where EMF lines on stdout become CloudWatch metrics."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def emit(
    namespace: str,
    dimensions: Mapping[str, str],
    values: Mapping[str, tuple[float, MetricUnit]],
    *,
    timestamp: float | None = None,
) -> None:
    """Write one EMF line: `values` (metric name -> (value, unit)) under one set of `dimensions` (plus the service
    dimension), dated `timestamp` (epoch seconds; the time of writing when None). Nothing is written outside Lambda,
    or when there are no values.

    A fresh EphemeralMetrics per line: Powertools' `Metrics` shares its metrics and dimensions between all instances
    of the process, so lines with different dimensions (one per attribution source, say) would mix."""
    if not values or not in_lambda():
        return
    metrics = EphemeralMetrics(namespace=namespace, service=SERVICE)
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for name, (amount, unit) in values.items():
        metrics.add_metric(name=name, unit=unit, value=amount)
    if timestamp is not None:
        metrics.set_timestamp(int(timestamp * 1000))
    metrics.flush_metrics()
