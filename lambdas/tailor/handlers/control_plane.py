"""Lambda entry for the API: every Personalize operation of the three APIs through one router."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from tailor.handlers.common import service
from tailor.operations import operation_table
from tailor.protocol.apigw import request_from_event, response_to_proxy
from tailor.protocol.http import Router

logger = Logger(service="tailor")
router = Router(operation_table(), service)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return response_to_proxy(router.handle(request_from_event(event)))
