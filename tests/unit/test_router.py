"""The router on its own: errors serialized per protocol with the model's status codes, read back by botocore."""

from __future__ import annotations

import json

from botocore.model import ServiceModel
from botocore.parsers import create_parser

from tailor.errors import InvalidInputException, ResourceInUseException, ResourceNotFoundException
from tailor.protocol import model
from tailor.protocol.http import HttpRequest, Router


def raising(error):
    def operation(ctx, params):
        raise error

    return operation


def parse(service: str, operation: str, response) -> dict:
    """What a stock botocore client makes of the response."""
    service_model: ServiceModel = model.service_model(service)
    parser = create_parser(service_model.metadata["protocol"])
    headers = {k.lower(): v for k, v in response.headers.items()}  # botocore reads headers case-insensitively
    raw = {"status_code": response.status, "headers": headers, "body": response.body}
    return parser.parse(raw, service_model.operation_model(operation).output_shape)


def test_rest_json_errors_take_the_status_the_model_gives_them():
    router = Router({
        ("personalize-runtime", "GetRecommendations"): raising(ResourceNotFoundException("no campaign")),
        ("personalize-events", "PutItems"): raising(ResourceInUseException("dataset busy")),
    }, context=lambda: None)
    not_found = router.handle(HttpRequest("POST", "/recommendations", {}, b"{}"))
    in_use = router.handle(HttpRequest("POST", "/items", {}, json.dumps(
        {"datasetArn": "arn:aws:personalize:us-east-1:1:dataset/g/ITEMS", "items": [{"itemId": "i"}]}).encode()))
    assert (not_found.status, in_use.status) == (404, 409)
    parsed = parse("personalize-runtime", "GetRecommendations", not_found)
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": "no campaign"}
    assert parse("personalize-events", "PutItems", in_use)["Error"]["Code"] == "ResourceInUseException"


def test_aws_json_errors_are_400_with_type_and_message():
    router = Router({("personalize", "ListSchemas"): raising(InvalidInputException("nope"))}, context=lambda: None)
    response = router.handle(HttpRequest("POST", "/", {"X-Amz-Target": "AmazonPersonalize.ListSchemas"}, b"{}"))
    assert response.status == 400
    assert json.loads(response.body) == {"__type": "InvalidInputException", "message": "nope"}
    parsed = parse("personalize", "ListSchemas", response)
    assert parsed["Error"]["Code"] == "InvalidInputException"
    assert parsed["ResponseMetadata"]["RequestId"] == response.headers["x-amzn-RequestId"]


def test_outputs_are_projected_onto_the_output_shape():
    router = Router({("personalize", "ListSchemas"): lambda ctx, p: {"schemas": [], "internalSecret": "x"}},
                    context=lambda: None)
    response = router.handle(HttpRequest("POST", "/", {"X-Amz-Target": "AmazonPersonalize.ListSchemas"}, b""))
    assert json.loads(response.body) == {"schemas": []}


def test_modelled_but_unserved_operations_say_so_with_a_client_error():
    router = Router({}, context=lambda: None)
    response = router.handle(HttpRequest("POST", "/", {"X-Amz-Target": "AmazonPersonalize.ListCampaigns"}, b"{}"))
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "NotImplementedYetException"
