"""One HTTP entry for all three APIs: awsJson1_1 on X-Amz-Target, restJson1 on fixed POST paths."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import (
    InternalFailure,
    NotImplementedYetException,
    SerializationException,
    ServiceError,
    UnknownOperationException,
)
from tailor.protocol import model

logger = logging.getLogger("tailor.protocol")

TARGET_PREFIX = "AmazonPersonalize."
CONTROL_PLANE = "personalize"

Operation = Callable[[Any, dict[str, Any]], dict[str, Any] | None]


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def is_personalize_request(request: HttpRequest) -> bool:
    """True for a request any of the three APIs should answer (used where S3 shares the endpoint)."""
    target = request.header("X-Amz-Target")
    if target is not None:
        return target.startswith(TARGET_PREFIX)
    auth = request.header("Authorization") or ""
    # A stock client signs for personalize; tailor.client for execute-api (as API Gateway needs). S3 signs for neither.
    if "/personalize/aws4_request" in auth or "/execute-api/aws4_request" in auth:
        return True
    return not auth and _route_path(request.path) is not None


def _route_path(path: str) -> str | None:
    """The restJson1 route a path ends with (a deployed stage may prefix it)."""
    trimmed = path.rstrip("/") or "/"
    for (_, uri) in model.rest_routes():
        if trimmed == uri or trimmed.endswith(uri):
            return uri
    return None


class Router:
    """Parse → validate → one domain call → serialize; every failure becomes a modelled error."""

    def __init__(
        self,
        operations: Mapping[tuple[str, str], Operation],
        context: Callable[[], Any],
        services: tuple[str, ...] = model.SERVICES,
    ) -> None:
        self._operations = operations
        self._context = context
        self._services = services

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        service, op_name, rest = CONTROL_PLANE, None, False
        op_model = None
        try:
            service, op_name, rest = self._resolve(request)
            op_model = model.operation_model(service, op_name)
            if op_model is None:
                raise UnknownOperationException(f"Operation {op_name} is not supported by {service}")
            params = self._parse_body(request.body)
            model.validate_input(op_model, params)
            impl = self._operations.get((service, op_name))
            if impl is None:
                raise NotImplementedYetException(f"Tailor does not implement {op_name} yet")
            result = impl(self._context(), params) or {}
            body = model.project(op_model.output_shape, result) if op_model.output_shape else {}
            return HttpResponse(200, _json_bytes(body), self._headers(request_id, rest))
        except ServiceError as err:
            return self._error(err, request_id, rest, op_model)
        except Exception:
            logger.exception("unhandled error in %s %s (request %s)", service, op_name, request_id)
            failure = InternalFailure(f"An internal error occurred (request {request_id}).")
            return self._error(failure, request_id, rest, op_model)

    def _resolve(self, request: HttpRequest) -> tuple[str, str, bool]:
        target = request.header("X-Amz-Target")
        if target is not None and CONTROL_PLANE in self._services:
            if request.method != "POST":
                raise UnknownOperationException(f"{request.method} is not supported")
            if not target.startswith(TARGET_PREFIX):
                raise UnknownOperationException(f"Unknown target {target[:100]!r}")
            return CONTROL_PLANE, target[len(TARGET_PREFIX):], False
        uri = _route_path(request.path)
        if uri is not None:
            service, op_name = model.rest_routes().get((request.method, uri), ("", ""))
            if service in self._services:
                return service, op_name, True
        raise _UnknownRoute(f"No route for {request.method} {request.path[:200]}")

    @staticmethod
    def _parse_body(body: bytes) -> dict[str, Any]:
        if not body or not body.strip():
            return {}
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise SerializationException(f"Request body is not valid JSON: {err}") from None
        if not isinstance(parsed, dict):
            raise SerializationException("Request body must be a JSON object")
        return parsed

    @staticmethod
    def _headers(request_id: str, rest: bool) -> dict[str, str]:
        return {
            "Content-Type": "application/json" if rest else "application/x-amz-json-1.1",
            "x-amzn-RequestId": request_id,
        }

    def _error(self, err: ServiceError, request_id: str, rest: bool, op_model: Any) -> HttpResponse:
        headers = self._headers(request_id, rest)
        headers["x-amzn-ErrorType"] = err.code
        if isinstance(err, _UnknownRoute):
            code = "UnknownOperationException"
            headers["x-amzn-ErrorType"] = code
            return HttpResponse(404, _json_bytes({"__type": code, "message": err.message}), headers)
        if rest:
            status = model.error_status(op_model, err.code) or err.http_status
            body = {"message": err.message, "__type": err.code}
        else:
            status = 500 if isinstance(err, InternalFailure) else 400
            body = {"__type": err.code, "message": err.message}
        return HttpResponse(status, _json_bytes(body), headers)


class _UnknownRoute(ServiceError):
    http_status = 404
