"""API Gateway REST proxy events ↔ HttpRequest/HttpResponse, so local mode runs the Lambda handlers as-is."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from tailor.protocol.http import HttpRequest, HttpResponse


def request_from_event(event: Mapping[str, Any]) -> HttpRequest:
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8", "surrogatepass")
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    return HttpRequest(str(event.get("httpMethod") or "POST"), str(event.get("path") or "/"), headers, raw)


def event_from_request(method: str, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"stage": "local", "httpMethod": method, "path": path},
        "body": text,
        "isBase64Encoded": encoded,
    }


def response_to_proxy(response: HttpResponse) -> dict[str, Any]:
    return {"statusCode": response.status, "headers": response.headers, "body": response.body.decode()}


def response_from_proxy(result: Mapping[str, Any]) -> HttpResponse:
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return HttpResponse(int(result["statusCode"]), raw, dict(result.get("headers") or {}))
