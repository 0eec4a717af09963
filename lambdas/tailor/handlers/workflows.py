"""Lambda entry for Step Functions tasks: {"job", "arn"} runs a job; {"job": "fail", ...} records a failure."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from tailor import jobs
from tailor.handlers.common import service

logger = Logger(service="tailor")


def _reason(cause: Any) -> str:
    """A failureReason a person can act on, from the {"Error", "Cause"} Step Functions caught."""
    if not isinstance(cause, dict):
        return str(cause or "The workflow failed")
    error, text = str(cause.get("Error") or ""), cause.get("Cause") or ""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # a Lambda task's error
        return f"{parsed.get('errorType', 'Error')}: {parsed.get('errorMessage', '')}".strip()
    if isinstance(parsed, dict) and ("StoppedReason" in parsed or "Containers" in parsed):  # an ECS task's
        return _task_reason(parsed)
    if error == "States.Timeout":
        return "The job ran longer than the deployment allows (jobTimeoutHours in cdk.json) and was stopped."
    return str(text or error) or "The workflow failed"


def _task_reason(task: dict[str, Any]) -> str:
    """Why the Fargate task stopped (ecs:runTask.sync's cause is the task's description)."""
    parts = [f"The job's Fargate task stopped: {task.get('StoppedReason') or 'no reason given'}"]
    out_of_memory = False
    for container in task.get("Containers") or []:
        code, why = container.get("ExitCode"), container.get("Reason")
        detail = f"exit code {code}" if code is not None else "no exit code"
        parts.append(f"container {container.get('Name', '?')}: {detail}" + (f" ({why})" if why else ""))
        out_of_memory = out_of_memory or code == 137 or "OutOfMemory" in str(why)
    reason = "; ".join(parts) + "."
    if out_of_memory:
        reason += " It ran out of memory: raise trainingMemoryMb (and trainingCpu) in cdk.json and redeploy."
    return reason


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    job, arn = event["job"], event["arn"]
    logger.append_keys(job=job, arn=arn)
    if job == "fail":
        jobs.fail(service(), arn, _reason(event.get("cause")))
    else:
        jobs.run(service(), job, arn)
    return {"job": job, "arn": arn}
