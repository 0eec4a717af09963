"""The API Lambda handler on API Gateway proxy events: protocol errors are modelled, never 5xx."""

from __future__ import annotations

import json

import pytest

from tailor.handlers.all_apis import lambda_handler
from tailor.local.embedded import LambdaContext


def call(body, *, target: str | None = "AmazonPersonalize.ListDatasetGroups", path: str = "/", method="POST",
         headers=None, handler=lambda_handler):
    hdrs = dict(headers or {})
    if target is not None:
        hdrs["X-Amz-Target"] = target
    raw = body if isinstance(body, str) else json.dumps(body)
    event = {"httpMethod": method, "path": path, "headers": hdrs, "body": raw, "isBase64Encoded": False}
    result = handler(event, LambdaContext(aws_request_id="r"))
    return result["statusCode"], result["headers"], json.loads(result["body"] or "{}")


def test_every_response_has_a_request_id(svc):
    status, headers, body = call({})
    assert status == 200 and body == {"datasetGroups": []}
    assert headers["x-amzn-RequestId"]
    status, headers, _ = call({}, target="AmazonPersonalize.Nope")
    assert status == 400 and headers["x-amzn-RequestId"]


def test_unknown_operation(svc):
    status, _, body = call({}, target="AmazonPersonalize.CreateUnicorn")
    assert status == 400
    assert body["__type"] == "UnknownOperationException"
    status, _, body = call({}, target="SomethingElse.ListDatasetGroups")
    assert body["__type"] == "UnknownOperationException"


def test_junk_json_is_a_serialization_error(svc):
    for junk in ("{", "[1,2]", "\"text\"", "null"):
        status, _, body = call(junk)
        assert status == 400, junk
        assert body["__type"] in ("SerializationException",), junk


def test_wrong_types_are_invalid_input(svc):
    status, _, body = call({"maxResults": "ten"})
    assert status == 400 and body["__type"] == "InvalidInputException"
    assert "maxResults" in body["message"]
    status, _, body = call({"maxResults": 1000})
    assert body["__type"] == "InvalidInputException" and "100" in body["message"]
    status, _, body = call({"surprise": 1})
    assert body["__type"] == "InvalidInputException" and "surprise" in body["message"]


def test_rest_routes_unknown_path_and_method(svc):
    status, headers, _ = call({}, target=None, path="/prod/nowhere")
    assert status == 404 and headers["x-amzn-ErrorType"] == "UnknownOperationException"
    status, _, _ = call({}, target=None, path="/recommendations", method="GET")
    assert status == 404


def test_rest_validation_uses_the_models_status(svc):
    status, headers, _ = call({"numResults": -1}, target=None, path="/recommendations")
    assert status == 400 and headers["x-amzn-ErrorType"] == "InvalidInputException"
    status, headers, _ = call({"trackingId": "t", "sessionId": "s", "eventList": []}, target=None, path="/events")
    assert status == 400 and headers["x-amzn-ErrorType"] == "InvalidInputException"


def test_stage_prefixed_rest_paths_route(svc):
    status, headers, _ = call({}, target=None, path="/prod/recommendations")
    # routed to GetRecommendations (not an unknown route), whatever that operation answers
    assert status != 404
    assert headers.get("x-amzn-ErrorType") != "UnknownOperationException"


def test_each_deployed_function_answers_only_its_own_api(svc):
    """API Gateway routes each API to its own Lambda (and role); a request that reaches the wrong one is refused as
    an unknown operation, never half-served with permissions that function does not have."""
    from tailor.handlers import control_plane, events, runtime

    tracked = {"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "click", "sentAt": 1}]}
    routes = {
        control_plane: ({}, "AmazonPersonalize.ListDatasetGroups", "/"),
        runtime: ({"campaignArn": "arn:aws:personalize:us-east-1:123456789012:campaign/c", "userId": "u"}, None,
                  "/recommendations"),
        events: (tracked, None, "/events"),
    }
    for function in routes:
        for owner, (body, target, path) in routes.items():
            _, headers, answer = call(body, target=target, path=path, handler=function.lambda_handler)
            unknown = answer.get("__type") == "UnknownOperationException" or \
                headers.get("x-amzn-ErrorType") == "UnknownOperationException"
            assert unknown == (owner is not function), (function.__name__, path)


def test_internal_errors_are_500_without_a_stack_trace(svc, monkeypatch):
    from tailor.operations import dataset_groups

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(svc.store, "list", explode)
    status, _, body = call({})
    assert status == 500 and body["__type"] == "InternalFailure"
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert dataset_groups  # imported to show the failure is inside an operation, not the router


@pytest.mark.parametrize("encoded", [True, False])
def test_base64_bodies_from_api_gateway(svc, encoded):
    import base64

    raw = json.dumps({"maxResults": 5})
    event = {"httpMethod": "POST", "path": "/", "headers": {"x-amz-target": "AmazonPersonalize.ListDatasetGroups"},
             "body": base64.b64encode(raw.encode()).decode() if encoded else raw, "isBase64Encoded": encoded}
    assert lambda_handler(event, LambdaContext(aws_request_id="r"))["statusCode"] == 200


def test_inside_lambda_each_request_writes_its_metrics(svc, monkeypatch, capsys):
    # Given the handler running in Lambda (where Powertools' embedded-metric-format lines become CloudWatch metrics)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tailor-api")
    assert call({})[0] == 200
    assert call({"maxResults": "many"})[0] == 400
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # Then each request writes one metrics line naming the operation, its latency and its outcome
    assert [(m["operation"], "Success" in m, "ClientErrors" in m) for m in lines] == [
        ("ListDatasetGroups", True, False), ("ListDatasetGroups", False, True)]
    assert all(min(m["Latency"] if isinstance(m["Latency"], list) else [m["Latency"]]) >= 0 for m in lines)


def test_outside_lambda_no_metrics_are_written(svc, capsys):
    call({})
    assert '"_aws"' not in capsys.readouterr().out


def test_a_cold_start_does_not_load_the_model_code():
    """numpy, scipy and the serving/training code load with the first request that needs them (a runtime call, a
    Put* call), not when the API handler is imported: every control-plane cold start would pay for them."""
    import subprocess
    import sys

    probe = ("import sys, tailor.handlers.control_plane\n"
             "print(sorted(m for m in ('numpy', 'scipy', 'tailor.serving', 'tailor.training', 'tailor.imports') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
