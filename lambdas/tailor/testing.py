"""A pytest plugin: the `tailor` fixture runs Tailor in-process under moto, with stock boto3 clients wired to it.

    def test_my_import(tailor):
        s3 = tailor.client("s3")
        personalize = tailor.client("personalize")
        ...
        tailor.wait()  # let asynchronous jobs (imports, activation) finish

Any boto3 client created with ``endpoint_url=tailor.endpoint_url`` (or the AWS_ENDPOINT_URL_PERSONALIZE*
variables the fixture sets) is answered in-process too; no port is opened.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSResponse

from tailor.local.embedded import LOCAL_CREDENTIALS, EmbeddedTailor
from tailor.protocol.http import HttpResponse

IN_PROCESS_HOST = "tailor.in-process"
IN_PROCESS_ENDPOINT = f"http://{IN_PROCESS_HOST}"
PERSONALIZE_SERVICES = ("personalize", "personalize-runtime", "personalize-events")
_ENV_VARS = {f"AWS_ENDPOINT_URL_{s.upper().replace('-', '_')}": IN_PROCESS_ENDPOINT for s in PERSONALIZE_SERVICES}


class Endpoint(Protocol):
    """What answers the in-process host: EmbeddedTailor, or anything that serves requests the same way."""

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse: ...

    def stop(self) -> None: ...


_active: Endpoint | None = None


class _RawBody:
    """The minimal raw stream botocore reads an AWSResponse body from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


def _dispatch(request: Any, **kwargs: Any) -> AWSResponse | None:
    """botocore before-send hook: answer requests for the in-process host, leave the rest alone."""
    if _active is None:
        return None
    url = urlsplit(request.url)
    if url.hostname != IN_PROCESS_HOST:
        return None
    headers = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()}
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    result = _active.handle(request.method, url.path or "/", headers, body)
    return AWSResponse(request.url, result.status, result.headers, _RawBody(result.body))  # type: ignore[arg-type]


def _install_hook() -> None:
    # Like moto, hook every botocore session created from now on, so users' own clients are covered.
    import botocore.handlers

    if not any(entry[1] is _dispatch for entry in botocore.handlers.BUILTIN_HANDLERS):
        botocore.handlers.BUILTIN_HANDLERS.append(("before-send", _dispatch))


class TailorFixture:
    """What the `tailor` fixture yields."""

    endpoint_url = IN_PROCESS_ENDPOINT

    def __init__(self, embedded: EmbeddedTailor) -> None:
        self.embedded = embedded
        self.region = embedded.region

    def client(self, service: str, **kwargs: Any) -> Any:
        """A stock boto3 client; Personalize services are answered by Tailor, others by moto."""
        if service in PERSONALIZE_SERVICES:
            kwargs.setdefault("endpoint_url", IN_PROCESS_ENDPOINT)
        # The session was created after _install_hook, so the before-send hook is already on its clients.
        return self.embedded.session.client(service, region_name=self.region, **kwargs)

    def wait(self, timeout: float = 120.0) -> None:
        """Wait until every asynchronous job (activation, import, deletion) has finished."""
        if not self.embedded.wait_idle(timeout):
            raise TimeoutError(f"Tailor jobs still running after {timeout}s")

    def wait_for(self, describe: Callable[[], str], statuses: tuple[str, ...] = ("ACTIVE", "CREATE FAILED"),
                 timeout: float = 120.0) -> str:
        """Poll a zero-argument callable returning a status until it is one of `statuses`."""
        deadline = time.monotonic() + timeout
        while True:
            status = describe()
            if status in statuses or time.monotonic() > deadline:
                return status
            time.sleep(0.02)

    def run_automatic_training(self, after_seconds: float = 0.0) -> list[str]:
        """Run automatic training's sweep as if `after_seconds` had passed (rate(7 days) is 604800), wait for the
        versions it starts to train, and return their ARNs. The local endpoint also sweeps every few minutes."""
        from tailor.autotrain import sweep

        service = self.embedded.service
        started = sweep(service, now=service.now() + after_seconds)
        self.wait()
        return started

    def reset(self) -> None:
        self.embedded.reset()


# Installed when the plugin loads (before users' sessions exist), as moto does; it is inert until a fixture starts.
_install_hook()


def start_in_process(region: str = "us-east-1") -> TailorFixture:
    for key, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(key.upper(), value)
    embedded = EmbeddedTailor(region=region)
    serve_in_process(embedded)
    return TailorFixture(embedded)


def serve_in_process(endpoint: Endpoint) -> None:
    """Answer the in-process host with `endpoint` (another topology of Tailor, e.g. the deployed one)."""
    global _active
    _install_hook()
    _active = endpoint


def stop_in_process() -> None:
    global _active
    if _active is not None:
        _active.stop()
        _active = None


@pytest.fixture
def tailor(monkeypatch: pytest.MonkeyPatch) -> Iterator[TailorFixture]:
    """Tailor in-process under moto, fresh for each test."""
    for key, value in _ENV_VARS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fixture = start_in_process()
    try:
        yield fixture
    finally:
        stop_in_process()
