"""Property test: thousands of generated requests (shapes from botocore's models, junk JSON, junk headers)
to all three APIs never get a 5xx or a stack trace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailor.handlers.all_apis import lambda_handler
from tailor.local.embedded import LambdaContext
from tailor.protocol import model
from tests.samples import INTERACTIONS_SCHEMA, ITEMS_SCHEMA

FUZZ = settings(max_examples=1200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PREFIX = "arn:aws:personalize:us-east-1:123456789012"
ARNS = [f"{PREFIX}:dataset-group/fuzz", f"{PREFIX}:schema/fuzz", f"{PREFIX}:dataset/fuzz/INTERACTIONS",
        f"{PREFIX}:dataset-import-job/fuzz", f"{PREFIX}:filter/fuzz", "arn:aws:personalize:::recipe/aws-sims",
        "arn:aws:iam::123456789012:role/R", f"{PREFIX}:solution/x/1234abcd", "arn:aws:personalize:::algorithm/x"]
EXPRESSIONS = ['EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")', "INCLUDE ItemID WHERE Items.GENRE IN ($G)",
               "INCLUDE UserID WHERE Users.X IN ($Y) | EXCLUDE ItemID", "INCLUDE ItemID WHERE Items.PRICE <= $P"]

names = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9\-_]{0,20}", fullmatch=True) | st.just("fuzz")
text = st.text(max_size=40) | st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


def strings_for(member: str, shape: Shape) -> st.SearchStrategy[Any]:
    lowered = member.lower()
    base: st.SearchStrategy[Any] = names | text
    if shape.enum:
        base = st.sampled_from(shape.enum) | text
    elif lowered.endswith("arn") or lowered.endswith("arns"):
        base = st.sampled_from(ARNS) | text
    elif lowered in ("name", "jobname"):
        base = names | text
    elif lowered == "schema":
        base = st.sampled_from([INTERACTIONS_SCHEMA, ITEMS_SCHEMA, "{}", "[]", '{"type":"record"}']) | text
    elif lowered == "filterexpression":
        base = st.sampled_from(EXPRESSIONS) | text
    elif lowered in ("datalocation", "path"):
        base = st.sampled_from(["s3://user-data/x.csv", "s3://nobucket/", "s3://"]) | text
    elif lowered == "properties":
        base = st.sampled_from(['{"genre":"a"}', "{", "[]", '{"userId":"x"}']) | text
    return base


JUNK = st.none() | st.integers() | st.text(max_size=5) | st.booleans() | st.lists(st.integers(), max_size=2)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Well-formed values 19 times in 20, so many requests get past validation into the domain."""
    return st.integers(0, 19).flatmap(lambda n: JUNK if n == 0 else valid)


def value_for(member: str, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
    return mostly(_valid_for(member, shape, depth))


def _valid_for(member: str, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
    junk = JUNK
    if depth > 4:
        return junk
    if isinstance(shape, StructureShape):
        return struct_for(shape, depth + 1)
    if isinstance(shape, ListShape):
        return st.lists(value_for(member, shape.member, depth + 1), max_size=12)
    if isinstance(shape, MapShape):
        return st.dictionaries(names, value_for(member, shape.value, depth + 1), max_size=4)
    kind = shape.type_name
    if kind == "string":
        return strings_for(member, shape)
    if kind in ("integer", "long"):
        return st.integers(min_value=0, max_value=600) | st.integers(min_value=-(2**40), max_value=2**40)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.integers(min_value=0, max_value=2**32) | st.floats(allow_nan=False) | text
    return junk


def struct_for(shape: StructureShape, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    members = {name: value_for(name, member, depth) for name, member in shape.members.items()}
    required = set(shape.required_members)
    return st.fixed_dictionaries(
        {k: v for k, v in members.items() if k in required},
        optional={k: v for k, v in members.items() if k not in required},
    )


def operations() -> list[tuple[str, str]]:
    return [(svc, op) for svc in model.SERVICES for op in model.service_model(svc).operation_names]


@st.composite
def model_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    service, op = draw(st.sampled_from(operations()))
    op_model = model.operation_model(service, op)
    assert op_model is not None
    body = draw(struct_for(op_model.input_shape)) if op_model.input_shape else {}
    if service == "personalize":
        return "POST", "/", {"X-Amz-Target": f"AmazonPersonalize.{op}"}, json.dumps(body).encode()
    return "POST", draw(st.sampled_from(["", "/prod"])) + op_model.http["requestUri"], {}, json.dumps(body).encode()


junk_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
).map(lambda v: json.dumps(v).encode())
junk_bytes = st.binary(max_size=200)
header_names = st.sampled_from(["X-Amz-Target", "Content-Type", "Authorization", "Content-Length", "X-Amz-Date"])


@st.composite
def junk_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["POST", "GET", "PUT", "DELETE", "PATCH"]))
    path = draw(st.sampled_from(["/", "/recommendations", "/events", "/items", "/prod/users", "/x"]) | st.text(
        max_size=30).map(lambda s: "/" + s))
    headers = draw(st.dictionaries(header_names, st.text(max_size=60), max_size=3))
    if draw(st.booleans()):
        headers["X-Amz-Target"] = draw(st.sampled_from(
            ["AmazonPersonalize.", "AmazonPersonalize.CreateSchema", "AmazonPersonalize.ListRecipes", "x.y"]) | text)
    return method, path, headers, draw(junk_json | junk_bytes)


def send(method: str, path: str, headers: dict[str, str], body: bytes) -> None:
    from tailor.protocol.apigw import event_from_request

    result = lambda_handler(event_from_request(method, path, headers, body), LambdaContext(aws_request_id="fuzz"))
    status = result["statusCode"]
    text_body = result["body"]
    assert status < 500, (method, path, headers, body[:200], text_body)
    assert "Traceback" not in text_body and 'File "' not in text_body
    assert result["headers"]["x-amzn-RequestId"]
    if status >= 400:
        payload = json.loads(text_body)
        assert payload.get("__type") or result["headers"].get("x-amzn-ErrorType")
        assert isinstance(payload.get("message"), str)


@pytest.fixture
def seeded(svc, launcher):
    from tailor.operations import dataset_groups, datasets, schemas

    dataset_groups.create_dataset_group(svc, {"name": "fuzz"})
    launcher.run_all(svc)
    schema = schemas.create_schema(svc, {"name": "fuzz", "schema": INTERACTIONS_SCHEMA})["schemaArn"]
    datasets.create_dataset(svc, {"name": "fuzz", "schemaArn": schema, "datasetGroupArn": ARNS[0],
                                  "datasetType": "INTERACTIONS"})
    launcher.run_all(svc)
    return svc


@FUZZ
@given(request=model_requests())
def test_generated_model_requests_never_5xx(seeded, launcher, request):
    send(*request)
    launcher.run_all(seeded)  # jobs started by fuzzed creates must end cleanly too


@settings(FUZZ, max_examples=800)
@given(request=junk_requests())
def test_junk_requests_never_5xx(seeded, request):
    send(*request)
