"""A small Amazon States Language interpreter for the states the jobs state machine uses (Choice, Task with Retry and
Catch, Succeed, Fail), faithful to the ASL specification for them: paths, Parameters with `.$`, ResultPath,
error names (States.ALL, States.TaskFailed, States.Timeout) and the service integrations' error shapes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.deployed.iam import Request, Statement, allows

LAMBDA_INVOKE = ":states:::lambda:invoke"
ECS_RUN_TASK_SYNC = ":states:::ecs:runTask.sync"


class TaskFailed(Exception):
    """A task state's error, as Step Functions names it (e.g. "States.TaskFailed", "Lambda.AWSLambdaException")."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


@dataclass
class Outcome:
    status: str  # SUCCEEDED | FAILED
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[str] = field(default_factory=list)  # "<state> <event>" lines, in order


@dataclass
class Integrations:
    """What the machine's tasks reach: a Lambda function by ARN, and an ECS task run to completion."""

    invoke_lambda: Callable[[str, Any], Any]
    run_task: Callable[[dict[str, Any], float | None], dict[str, Any]]  # (Parameters, timeout) → task description
    task_roles: Callable[[str], list[str]]  # task definition → the role ARNs RunTask passes (iam:PassRole)
    task_definition_arn: Callable[[str], str]  # family or ARN as written in Parameters → the ARN IAM sees


class StateMachine:
    def __init__(self, definition: dict[str, Any], role_statements: list[Statement], integrations: Integrations,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.definition = definition
        self.role = role_statements
        self.integrations = integrations
        self.sleep = sleep  # Retry's backoff; tests may pass one that only records

    def execute(self, execution_input: Any) -> Outcome:
        outcome = Outcome(status="RUNNING")
        name: str | None = self.definition["StartAt"]
        data = execution_input
        while name is not None:
            state = self.definition["States"][name]
            outcome.history.append(f"{name} entered")
            kind = state["Type"]
            if kind == "Choice":
                name = self._choose(state, data)
            elif kind == "Succeed":
                outcome.status, outcome.output = "SUCCEEDED", data
                return outcome
            elif kind == "Fail":
                outcome.status = "FAILED"
                outcome.error = _path(data, state["ErrorPath"]) if "ErrorPath" in state else state.get("Error")
                outcome.cause = _path(data, state["CausePath"]) if "CausePath" in state else state.get("Cause")
                return outcome
            elif kind == "Task":
                try:
                    data = self._task(name, state, data, outcome)
                except TaskFailed as failure:
                    catcher = next((c for c in state.get("Catch", []) if _catches(c["ErrorEquals"], failure.error)),
                                   None)
                    outcome.history.append(f"{name} failed {failure.error}")
                    if catcher is None:
                        outcome.status, outcome.error, outcome.cause = "FAILED", failure.error, failure.cause
                        return outcome
                    data = _put(data, catcher.get("ResultPath", "$"), {"Error": failure.error,
                                                                        "Cause": failure.cause})
                    name = catcher["Next"]
                    continue
                name = None if state.get("End") else state["Next"]
            elif kind == "Pass":
                data = _put(data, state.get("ResultPath", "$"), state.get("Result", data))
                name = None if state.get("End") else state["Next"]
            else:
                raise NotImplementedError(f"the deployed tier does not interpret {kind} states")
        outcome.status, outcome.output = "SUCCEEDED", data
        return outcome

    def _choose(self, state: dict[str, Any], data: Any) -> str:
        for rule in state.get("Choices", []):
            if _rule_holds(rule, data):
                return str(rule["Next"])
        if "Default" in state:
            return str(state["Default"])
        raise TaskFailed("States.NoChoiceMatched", "no choice rule matched and there is no Default")

    def _task(self, name: str, state: dict[str, Any], data: Any, outcome: Outcome) -> Any:
        effective = _path(data, state.get("InputPath", "$"))
        if "Parameters" in state:
            effective = _parameters(state["Parameters"], effective)
        attempts: dict[int, int] = {}
        while True:
            try:
                result = self._call(state, effective)
                break
            except TaskFailed as failure:
                index = next((i for i, r in enumerate(state.get("Retry", []))
                              if _catches(r["ErrorEquals"], failure.error)), None)
                if index is None:
                    raise
                retrier = state["Retry"][index]
                made = attempts.get(index, 0)
                if made >= int(retrier.get("MaxAttempts", 3)):
                    raise
                attempts[index] = made + 1
                delay = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** made
                delay = min(delay, float(retrier.get("MaxDelaySeconds", delay)))
                outcome.history.append(f"{name} retry {made + 1} after {failure.error} in {delay:g}s")
                self.sleep(delay)
        if "ResultSelector" in state:
            result = _parameters(state["ResultSelector"], result)
        data = _put(data, state.get("ResultPath", "$"), result)
        return _path(data, state.get("OutputPath", "$"))

    def _call(self, state: dict[str, Any], parameters: Any) -> Any:
        resource = str(state["Resource"])
        if resource.endswith(ECS_RUN_TASK_SYNC):
            task_definition = self.integrations.task_definition_arn(parameters["TaskDefinition"])
            self._authorize(Request("ecs:RunTask", task_definition), "ECS.AccessDeniedException")
            for role in self.integrations.task_roles(task_definition):
                self._authorize(Request("iam:PassRole", role), "ECS.AccessDeniedException")
            timeout = state.get("TimeoutSeconds")
            task = self.integrations.run_task(parameters, float(timeout) if timeout else None)
            if task.get("TimedOut"):
                raise TaskFailed("States.Timeout", "The task timed out")
            if any(c.get("ExitCode") != 0 for c in task.get("Containers", [])):
                raise TaskFailed("States.TaskFailed", json.dumps(task))
            return task
        if resource.endswith(LAMBDA_INVOKE):
            function, payload = parameters["FunctionName"], parameters.get("Payload")
        elif ":lambda:" in resource and ":function:" in resource:
            function, payload = resource, parameters  # the short form: the state's input is the event
        else:
            raise NotImplementedError(f"the deployed tier does not integrate {resource}")
        self._authorize(Request("lambda:InvokeFunction", function), "Lambda.AWSLambdaException")
        try:
            response = self.integrations.invoke_lambda(function, payload)
        except TaskFailed:  # the service's own error (throttled, timed out), not the function's
            raise
        except Exception as err:  # the function's error: Step Functions names it by the errorType
            raise TaskFailed(type(err).__name__, json.dumps(
                {"errorMessage": str(err), "errorType": type(err).__name__, "stackTrace": []})) from None
        return {"Payload": response} if resource.endswith(LAMBDA_INVOKE) else response

    def _authorize(self, request: Request, error: str) -> None:
        if not allows(self.role, request):
            raise TaskFailed(error, f"The state machine's role is not authorized to perform: {request.action} on "
                                    f"resource: {request.resource}")


def _catches(error_equals: list[str], error: str) -> bool:
    if "States.ALL" in error_equals or error in error_equals:
        return True
    # States.TaskFailed matches any task failure except a timeout (ASL specification, "Errors").
    return "States.TaskFailed" in error_equals and error != "States.Timeout"


def _rule_holds(rule: dict[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(_rule_holds(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_rule_holds(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _rule_holds(rule["Not"], data)
    try:
        value = _path(data, rule["Variable"])
    except KeyError:
        value = _MISSING
    if "IsPresent" in rule:
        return (value is not _MISSING) == rule["IsPresent"]
    if "StringEquals" in rule:
        return isinstance(value, str) and value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return isinstance(value, bool) and value == rule["BooleanEquals"]
    if "NumericEquals" in rule:
        return isinstance(value, int | float) and value == rule["NumericEquals"]
    raise NotImplementedError(f"the deployed tier does not evaluate the choice rule {sorted(rule)}")


_MISSING = object()


def _path(data: Any, path: str | None) -> Any:
    """A reference path ($, $.a.b, $.a[0]); KeyError when it names nothing."""
    if path is None:
        return None
    if path == "$":
        return data
    if not path.startswith("$."):
        raise NotImplementedError(f"the deployed tier does not evaluate the path {path}")
    value = data
    for part in path[2:].split("."):
        match = _PATH_PART.fullmatch(part)
        if match is None:
            raise NotImplementedError(f"the deployed tier does not evaluate the path {path}")
        value = value[match.group(1)]
        if match.group(2) is not None:
            value = value[int(match.group(2))]
    return value


_PATH_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)(?:\[(\d+)\])?")


def _put(data: Any, path: str | None, value: Any) -> Any:
    """ResultPath: null keeps the input, $ replaces it, $.a.b sets a field of a copy."""
    if path is None:
        return data
    if path == "$":
        return value
    copy = json.loads(json.dumps(data))
    target = copy
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return copy


def _parameters(template: Any, data: Any) -> Any:
    if isinstance(template, dict):
        built = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str) or value.startswith("$$"):
                    raise NotImplementedError(f"the deployed tier does not evaluate {key}: {value}")
                built[key[:-2]] = _path(data, value)
            else:
                built[key] = _parameters(value, data)
        return built
    if isinstance(template, list):
        return [_parameters(item, data) for item in template]
    return template
