"""Lambda handlers for the API: one router per function, each serving the Personalize APIs its role allows.

API Gateway sends the control plane (POST /, awsJson) to tailor.handlers.control_plane, the personalize-runtime paths
to tailor.handlers.runtime and the personalize-events paths to tailor.handlers.events; tailor.handlers.all_apis
serves all three at once, as local mode (`tailor serve`, the pytest fixture) does. Each builds only its own router,
so a function's cold start loads only its own APIs' models.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _operation(event: dict[str, Any]) -> str:
    """The operation's name for metrics: the control plane's X-Amz-Target, else the REST path (/recommendations)."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    target = headers.get("x-amz-target")
    return str(target).rsplit(".", 1)[-1] if target else str(event.get("path") or "/")


def handler_for(*services: str) -> LambdaHandler:
    """A Lambda handler that answers the operations of `services` and UnknownOperation for every other route."""
    router = Router(operation_table(services), service, services=services)

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

    return lambda_handler
