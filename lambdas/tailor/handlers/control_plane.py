"""Lambda entry for the API: every Personalize operation of the three APIs through one router."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from tailor.handlers.common import service
from tailor.operations import operation_table
from tailor.protocol.apigw import request_from_event, response_to_proxy
from tailor.protocol.http import Router

logger = Logger(service="tailor")
# CloudWatch metrics as embedded-metric-format log lines (no API call on the request path), written only inside
# Lambda: in local mode and in tests they would only flood stdout.
metrics = Metrics(namespace="Tailor", service="tailor")
router = Router(operation_table(), service)


def _operation(event: dict[str, Any]) -> str:
    """The operation's name for metrics: the control plane's X-Amz-Target, else the REST path (/recommendations)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    target = headers.get("x-amz-target")
    return str(target).rsplit(".", 1)[-1] if target else str(event.get("path") or "/")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    response = response_to_proxy(router.handle(request_from_event(event)))
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        status = int(response.get("statusCode", 500))
        metrics.add_dimension(name="operation", value=_operation(event))
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
        outcome = "ClientErrors" if 400 <= status < 500 else "ServerErrors" if status >= 500 else "Success"
        metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
    return response
