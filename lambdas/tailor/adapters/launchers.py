"""JobLaunchers: Step Functions in AWS, a background thread pool in local mode."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

logger = logging.getLogger("tailor.launcher")


class StepFunctionsLauncher:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def launch(self, job: str, arn: str) -> None:
        digest = hashlib.sha256(f"{job}{arn}{time.time_ns()}".encode()).hexdigest()[:16]
        name = f"{job}-{arn.rsplit('/', 1)[-1]}"[:60] + f"-{digest}"
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
        self._sfn.start_execution(
            stateMachineArn=self._arn, name=name, input=json.dumps({"job": job, "arn": arn})
        )


class LocalLauncher:
    """Runs jobs on worker threads in this process, as the Step Functions workflow would."""

    def __init__(self, runner: Any, workers: int = 2) -> None:
        self._runner = runner  # callable(job, arn), e.g. tailor.jobs.Jobs(service).run
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tailor-job")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._timers: list[threading.Thread] = []

    def every(self, seconds: float, job: str, arn: str) -> None:
        """Launch `job` every `seconds` until shutdown: the local stand-in for an EventBridge Scheduler schedule."""

        def tick() -> None:
            while not self._stopping.wait(seconds):
                try:
                    self.launch(job, arn)
                except RuntimeError:  # the pool shut down between the wait and the launch
                    return

        timer = threading.Thread(target=tick, name=f"tailor-schedule-{job}", daemon=True)
        timer.start()
        self._timers.append(timer)

    def launch(self, job: str, arn: str) -> None:
        future = self._pool.submit(self._runner, job, arn)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        if future.exception() is not None:
            logger.error("job failed outside its own error handling", exc_info=future.exception())

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is running or queued (jobs may launch further jobs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return True
            for future in pending:
                with contextlib.suppress(Exception):  # already logged by _done
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
        return False

    def shutdown(self) -> None:
        self._stopping.set()
        for timer in self._timers:
            timer.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
