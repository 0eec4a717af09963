"""Entry point of the training image: the jobs state machine runs one job for one resource on Fargate.

    python -m tailor.handlers.container                  (the job and ARN from TAILOR_JOB and TAILOR_JOB_ARN)
    python -m tailor.handlers.container <job> <arn>      (a manual run with the deployed environment)

Exit status: 0 the job ran (its resource records the outcome, a refused import or training included); 1 the job
raised, or was stopped, and the failure was recorded on the resource; 2 no job or ARN, or an unknown job: nothing ran.
The workflow's Catch records a failure too, after a non-zero exit, but `jobs.fail` leaves an already failed resource
alone: the reason written here, which says what went wrong, is the one a person reads.

ECS stops a task with SIGTERM (the execution was stopped or timed out) and SIGKILL after the container's stop timeout
(30 s unless the task definition says otherwise); SIGTERM ends the job with a recorded failure. Python only handles
the signal between bytecodes, so a single numpy/scipy call longer than that timeout is killed before it can record.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from aws_lambda_powertools import Logger

from tailor import config, jobs
from tailor.handlers.common import service

logger = Logger(service="tailor")  # JSON lines on stdout; the domain's "tailor.*" loggers write through it

USAGE = (f"usage: python -m tailor.handlers.container [<job> <arn>]; without arguments the job and ARN are read "
         f"from {config.ENV_JOB} and {config.ENV_JOB_ARN}")
STOPPED_REASON = ("The job's container was stopped (SIGTERM) before it finished: its execution was stopped, or the "
                  "job ran longer than the deployment allows (jobTimeoutHours in cdk.json).")


class Stopped(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so no `except Exception` in a job swallows it."""


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler and return the previous one; signals can only be handled on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _stop(signum: int, frame: FrameType | None) -> None:
    _on_sigterm(signal.SIG_IGN)  # one stop is enough: recording the failure must not be cut short
    raise Stopped


def _job_and_arn(argv: Sequence[str], env: Mapping[str, str]) -> tuple[str, str] | str:
    """(job, arn), or what is wrong with the invocation."""
    if len(argv) == 2:
        job, arn = argv
    elif not argv:
        job, arn = env.get(config.ENV_JOB, ""), env.get(config.ENV_JOB_ARN, "")
    else:
        return USAGE
    job, arn = job.strip(), arn.strip()
    if not job or not arn:
        return f"No job or no resource ARN given ({config.ENV_JOB}={job!r}, {config.ENV_JOB_ARN}={arn!r}); {USAGE}"
    if job not in jobs.JOBS:
        return f"Unknown job {job!r}; the jobs are: {', '.join(sorted(jobs.JOBS))}"
    return job, arn


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parsed = _job_and_arn(sys.argv[1:] if argv is None else argv, os.environ if env is None else env)
    if isinstance(parsed, str):
        print(parsed, file=sys.stderr)
        return 2
    job, arn = parsed
    logger.append_keys(job=job, arn=arn)
    previous = _on_sigterm(_stop)
    try:
        return _run(job, arn)
    finally:
        if previous is not None:
            _on_sigterm(previous)
        logger.remove_keys(["job", "arn"])


def _run(job: str, arn: str) -> int:
    svc = None
    try:
        svc = service()
        logger.info("job started")
        jobs.run(svc, job, arn)
        logger.info("job finished")
        return 0
    except Stopped:
        logger.error("stopped by SIGTERM before the job finished")
        reason = STOPPED_REASON
    except Exception as err:
        _on_sigterm(signal.SIG_IGN)  # a stop now would lose the reason below
        logger.exception("job failed")
        reason = jobs.internal_error_reason(job, err)
    if svc is None:  # the environment is incomplete: the workflow's Catch records ECS's cause instead
        logger.error("nothing recorded on the resource: the service could not be built from the environment")
        return 1
    try:
        jobs.fail(svc, arn, reason)
    except Exception:
        logger.exception("could not record the failure: %s", reason)
    return 1


if __name__ == "__main__":
    sys.exit(main())
