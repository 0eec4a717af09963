"""Lambda entry for the API: every Personalize operation of the three APIs through one router."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger

from tailor import cloudwatch
from tailor.handlers.common import service
from tailor.operations import operation_table
from tailor.protocol.apigw import request_from_event, response_to_proxy
from tailor.protocol.http import Router

logger = Logger(service="tailor")
# Per-request CloudWatch metrics (tailor.cloudwatch: EMF lines, written only inside Lambda).
NAMESPACE = "Tailor"
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
    if cloudwatch.in_lambda():
        status = int(response.get("statusCode", 500))
        outcome = "ClientErrors" if 400 <= status < 500 else "ServerErrors" if status >= 500 else "Success"
        cloudwatch.emit(NAMESPACE, {"operation": _operation(event)}, {
            "Latency": ((time.perf_counter() - started) * 1000, cloudwatch.MetricUnit.Milliseconds),
            outcome: (1, cloudwatch.MetricUnit.Count),
        })
    return response
