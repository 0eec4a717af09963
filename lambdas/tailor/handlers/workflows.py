"""Lambda entry for Step Functions tasks: {"job", "arn"} runs a job; {"job": "fail", ...} records a failure."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from tailor import jobs
from tailor.handlers.common import service

logger = Logger(service="tailor")


def _reason(cause: Any) -> str:
    # Step Functions passes {"Error": ..., "Cause": "<json of errorMessage/errorType/stackTrace>"}.
    if isinstance(cause, dict):
        text = cause.get("Cause") or cause.get("Error") or ""
        try:
            parsed = json.loads(text)
            return f"{parsed.get('errorType', 'Error')}: {parsed.get('errorMessage', '')}".strip()
        except (ValueError, AttributeError):
            return str(text) or "The workflow failed"
    return str(cause or "The workflow failed")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job, arn = event["job"], event["arn"]
    logger.append_keys(job=job, arn=arn)
    if job == "fail":
        jobs.fail(service(), arn, _reason(event.get("cause")))
    else:
        jobs.run(service(), job, arn)
    return {"job": job, "arn": arn}
