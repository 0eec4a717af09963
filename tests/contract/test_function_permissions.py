"""Each deployed function's code needs no more than its role grants (infra/functions.py; the template side is in
tests/infra/test_permissions.py).

The in-process endpoint is switched to route like the deployed API Gateway: the control plane, runtime and events
requests go to their own Lambda handlers, each given a Service that holds only what that function's role allows.
A store the role does not grant raises (and is recorded), so a story that passes end to end shows the grants are
enough; jobs keep the full Service, as the workflow Lambda and the Fargate task share the job grants.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from tailor.handlers import common as handler_common
from tailor.handlers import control_plane, events, runtime
from tailor.local.embedded import LambdaContext
from tailor.protocol.apigw import event_from_request, response_from_proxy
from tailor.protocol.http import HttpResponse
from tailor.protocol.model import rest_routes
from tailor.service import Service
from tailor.testing import TailorFixture
from tests.contract.test_walkthrough import (
    assert_real_time_story,
    assert_walkthrough,
    run_real_time_story,
    run_walkthrough,
)
from tests.samples import STORY_USER

# The port methods that write (tailor.ports): ResourceStore, EventStore and BlobStore.
WRITES = frozenset({"create", "update", "delete", "set_tags", "put_events", "delete_user", "put_records",
                    "delete_records", "put"})


class Denied:
    """A store the function's role has no permission on at all."""

    def __init__(self, what: str, violations: list[str]) -> None:
        self._what, self._violations = what, violations

    def __getattr__(self, name: str) -> Any:
        self._violations.append(f"{self._what}.{name}")
        raise PermissionError(f"AccessDenied: no permission on {self._what}")


class ReadOnly:
    """A store the function's role may read but not write."""

    def __init__(self, inner: Any, what: str, violations: list[str]) -> None:
        self._inner, self._what, self._violations = inner, what, violations

    def __getattr__(self, name: str) -> Any:
        if name in WRITES:
            self._violations.append(f"{self._what}.{name}")
            raise PermissionError(f"AccessDenied: {self._what} is read-only here")
        return getattr(self._inner, name)


def as_deployed(full: Service, violations: list[str]) -> dict[str, tuple[Any, Service]]:
    """function → (its handler module, the Service its role allows), as infra/functions.py grants them."""
    def restricted(**stores: Any) -> Service:
        return dataclasses.replace(full, cache={}, **stores)

    return {
        "control-plane": (control_plane, restricted(
            events=Denied("events table", violations), blobs=Denied("S3", violations))),
        "runtime": (runtime, restricted(
            store=ReadOnly(full.store, "resources table", violations),
            events=ReadOnly(full.events, "events table", violations),
            blobs=ReadOnly(full.blobs, "artifacts bucket", violations),
            launcher=Denied("jobs state machine", violations))),
        "events": (events, restricted(
            store=ReadOnly(full.store, "resources table", violations),
            blobs=Denied("S3", violations), launcher=Denied("jobs state machine", violations))),
    }


@pytest.fixture
def deployed(tailor: TailorFixture, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Route the in-process endpoint like API Gateway; yields the list of denied accesses."""
    violations: list[str] = []
    functions = as_deployed(tailor.embedded.service, violations)
    paths = {path: service for (_, path), (service, _) in rest_routes().items()}

    def handle(method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        service = paths.get(path)
        name = {"personalize-runtime": "runtime", "personalize-events": "events"}.get(service or "", "control-plane")
        module, svc = functions[name]
        handler_common.use_service(svc)
        try:
            proxy = module.lambda_handler(event_from_request(method, path, headers, body),
                                          LambdaContext(aws_request_id=str(uuid.uuid4())))
        finally:
            handler_common.use_service(tailor.embedded.service)  # the jobs' threads use the full Service
        return response_from_proxy(proxy)

    monkeypatch.setattr(tailor.embedded, "handle", handle)
    return violations


def test_the_walkthrough_needs_only_each_functions_grants(tailor: TailorFixture, deployed: list[str]) -> None:
    assert_walkthrough(run_walkthrough(tailor.client))
    assert deployed == []


def test_the_real_time_story_needs_only_each_functions_grants(tailor: TailorFixture, deployed: list[str]) -> None:
    assert_real_time_story(run_real_time_story(tailor.client))
    # and the events API's other writes
    personalize, put = tailor.client("personalize"), tailor.client("personalize-events")
    datasets = {d["datasetType"]: d["datasetArn"] for d in personalize.list_datasets()["datasets"]}
    put.put_items(datasetArn=datasets["ITEMS"], items=[{"itemId": "new-item", "properties": json.dumps(
        {"genre": "Horror", "price": 3.5})}])
    assert deployed == []


def test_a_function_reaching_past_its_role_is_caught(tailor: TailorFixture, deployed: list[str]) -> None:
    """The guard itself: the events function has no S3 grant, so code that reads a model there is refused."""
    _, svc = as_deployed(tailor.embedded.service, deployed)["events"]
    with pytest.raises(PermissionError):
        svc.blobs.open("s3://tailor-artifacts/models/x.npz")
    assert deployed == ["S3.open"] and STORY_USER
