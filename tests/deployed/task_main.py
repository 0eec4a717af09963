"""The job container's entry point in the deployed tier: the image's own (`python -m tailor.handlers.container`),
after installing the task role's IAM hook on every botocore session the job will create."""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

from tests.deployed.fargate import PEAK_MARKER, ROLE_VARIABLE
from tests.deployed.iam import enforcer_from_environment, install_globally


def _report_peak() -> None:
    """The process's peak resident memory (VmHWM), for benchmarks: what the task's memory limit is measured against."""
    status = Path("/proc/self/status").read_text()
    print(f"{PEAK_MARKER}{status.split('VmHWM:', 1)[1].split()[0]}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    atexit.register(_report_peak)
    install_globally(enforcer_from_environment(dict(os.environ), ROLE_VARIABLE))
    runpy.run_module("tailor.handlers.container", run_name="__main__", alter_sys=True)
