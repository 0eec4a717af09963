"""The tier's own parts, on cases whose answer is known: IAM evaluation as AWS documents it, and the ASL rules the
jobs state machine relies on (Retry and Catch matching, backoff, ResultPath)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deployed.iam import Request, allows, requests_for
from tests.deployed.states import Integrations, StateMachine, TaskFailed

BUCKET = "arn:aws:s3:::data"
LIST_UNDER_IN = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET,
                 "Condition": {"StringLike": {"s3:prefix": ["in/*"]}}}


def test_a_prefix_condition_allows_listing_under_it_only() -> None:
    list_in = requests_for("s3", "ListObjectsV2", {"Bucket": "data", "Prefix": "in/x"}, "us-east-1", "1")
    list_all = requests_for("s3", "ListObjectsV2", {"Bucket": "data"}, "us-east-1", "1")
    assert allows([LIST_UNDER_IN], list_in[0])
    assert not allows([LIST_UNDER_IN], list_all[0])  # s3:prefix is "" there


def test_an_explicit_deny_wins_and_actions_match_case_insensitively() -> None:
    allow = {"Effect": "Allow", "Action": "DynamoDB:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "arn:aws:dynamodb:*:*:table/t"}
    [delete] = requests_for("dynamodb", "DeleteItem", {"TableName": "t"}, "us-east-1", "123456789012")
    [get] = requests_for("dynamodb", "GetItem", {"TableName": "t"}, "us-east-1", "123456789012")
    assert not allows([allow, deny], delete)
    assert allows([allow, deny], get)
    assert not allows([], get)  # implicit deny


def test_an_index_query_needs_the_index_resource() -> None:
    [query] = requests_for("dynamodb", "Query", {"TableName": "t", "IndexName": "by-kind"}, "us-east-1", "1")
    table_only = {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "arn:aws:dynamodb:us-east-1:1:table/t"}
    assert query.resource.endswith("/index/by-kind") and not allows([table_only], query)


def test_objects_in_a_kms_bucket_need_the_key_too() -> None:
    key = "arn:aws:kms:us-east-1:1:key/k"
    found = requests_for("s3", "GetObject", {"Bucket": "data", "Key": "a"}, "us-east-1", "1",
                         bucket_keys={"data": key}.get)
    assert found == [Request("s3:GetObject", f"{BUCKET}/a"), Request("kms:Decrypt", key)]


def _machine(task: dict[str, Any], outcomes: list[Any]) -> tuple[StateMachine, list[float]]:
    """One Task state (Lambda), then Succeed; its Catch goes to a Fail state. `outcomes` are what each invocation
    returns or raises, in turn."""
    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": "Done", **task},
        "Done": {"Type": "Succeed"},
        "Caught": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    }}

    def invoke(arn: str, payload: Any) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def no_task(parameters: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        raise AssertionError("no ECS task in this machine")

    slept: list[float] = []
    role = [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]
    return StateMachine(definition, role, Integrations(invoke, no_task, lambda arn: [], lambda name: name),
                        sleep=slept.append), slept


def test_retry_backs_off_then_gives_up_to_the_catch() -> None:
    retry = {"ErrorEquals": ["ValueError"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 2}
    catch = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}
    machine, slept = _machine({"Retry": [retry], "Catch": [catch]}, [ValueError("a"), ValueError("b"),
                                                                       ValueError("c")])
    outcome = machine.execute({"job": "x"})
    assert slept == [2.0, 6.0]
    assert outcome.status == "FAILED" and outcome.error == "ValueError"
    assert json.loads(outcome.cause or "{}")["errorMessage"] == "c"


def test_task_failed_matches_every_error_but_a_timeout() -> None:
    catch = {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}
    machine, _ = _machine({"Catch": [catch]}, [KeyError("k")])
    assert machine.execute({}).error == "KeyError"
    machine, _ = _machine({"Catch": [catch]}, [TaskFailed("States.Timeout", "slow")])
    outcome = machine.execute({})
    assert outcome.status == "FAILED" and outcome.error == "States.Timeout" and "Caught entered" not in \
        outcome.history


def test_a_null_result_path_keeps_the_input() -> None:
    machine, _ = _machine({"ResultPath": None}, [{"ignored": True}])
    assert machine.execute({"job": "x"}).output == {"job": "x"}


def test_a_role_that_may_not_invoke_fails_the_task() -> None:
    machine, _ = _machine({}, [{}])
    machine.role = []
    outcome = machine.execute({})
    assert outcome.error == "Lambda.AWSLambdaException" and "lambda:InvokeFunction" in (outcome.cause or "")


@pytest.mark.parametrize("path", ["$$.Execution.Id", "$.a[?(@.b)]"])
def test_what_the_tier_cannot_evaluate_is_refused_not_guessed(path: str) -> None:
    machine, _ = _machine({"Parameters": {"x.$": path}}, [{}])
    with pytest.raises(NotImplementedError):
        machine.execute({"a": []})
