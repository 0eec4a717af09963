"""A deployment of one synthesized template, run here: moto for DynamoDB and S3 (tables and buckets as the template
declares them), each Lambda function with exactly its environment, role and /tmp, API Gateway's routes, the jobs
state machine's own definition executed, its ECS task run as Fargate would, and the schedules' inputs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from infra import constants
from tailor.adapters.env import build_service
from tailor.adapters.launchers import LocalLauncher
from tailor.handlers import common as handler_common
from tailor.local.embedded import MOTO_LOCK, LambdaContext, SerializedClient
from tailor.protocol.apigw import event_from_request, response_from_proxy
from tailor.protocol.http import HttpResponse
from tailor.service import Service
from tests.deployed import topology
from tests.deployed.fargate import FargateTask, Image, TaskRun
from tests.deployed.iam import Enforcer, Request, allows
from tests.deployed.states import Integrations, Outcome, StateMachine, TaskFailed

CREDENTIALS = {"aws_access_key_id": "deployed-tier", "aws_secret_access_key": "deployed-tier"}
# The in-process functions' clock; automatic training's sweep runs "later" by shifting its own execution's clock.
_clock_shift: ContextVar[float] = ContextVar("deployed_tier_clock_shift", default=0.0)
# The /tmp of the function whose invocation runs on this thread (tempfile is patched to read it).
_function_tmp: ContextVar[str | None] = ContextVar("deployed_tier_function_tmp", default=None)


def tier_clock() -> float:
    return time.time() + _clock_shift.get()


@dataclass
class Execution:
    arn: str
    input: dict[str, Any]
    shift: float = 0.0  # seconds the in-process functions' clock runs ahead during this execution
    outcome: Outcome | None = None
    error: BaseException | None = None  # the interpreter itself failed (a tier defect, not a job failure)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per AWS call of the job container."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _StartedExecution:
    """What botocore's HTTP layer would return for a StartExecution the tier accepted."""

    status_code = 200
    headers: dict[str, str] = {}


class Function:
    """One Lambda function: its handler, environment, role (IAM hook on its own boto3 session) and /tmp."""

    def __init__(self, spec: topology.LambdaSpec, tier: DeployedTailor) -> None:
        self.spec = spec
        self.tier = tier
        self.tmp = tier.lambda_tmp(spec)
        self.session = boto3.session.Session(region_name=topology.REGION, **CREDENTIALS)
        self.enforcer = Enforcer(spec.role_arn, spec.statements, topology.REGION, topology.ACCOUNT,
                                 bucket_keys=tier.bucket_keys.get)
        self.enforcer.install(self.session.events)
        self.session.events.register("before-call.sfn.StartExecution", tier.intercept_start_execution)
        module, _, name = spec.handler.rpartition(".")
        self.handler = getattr(importlib.import_module(module), name)
        self._service: Service | None = None
        self._cold = threading.Lock()

    @property
    def environment(self) -> dict[str, str]:
        """The template's variables plus those the Lambda runtime sets."""
        return {**self.spec.environment, "AWS_REGION": topology.REGION, "AWS_DEFAULT_REGION": topology.REGION,
                "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb)}

    def service(self) -> Service:
        with self._cold:  # built once per warm container, from the function's own environment
            if self._service is None:
                self._service = build_service(self.environment, session=self.session, wrap_client=SerializedClient)
                self._service.clock = tier_clock
            return self._service

    def invoke(self, event: Any) -> Any:
        context = LambdaContext(function_name=self.spec.name, memory_limit_in_mb=self.spec.memory_mb,
                                invoked_function_arn=self.spec.arn, aws_request_id=str(uuid.uuid4()))
        token = _function_tmp.set(str(self.tmp))
        started = time.monotonic()
        try:
            with handler_common.serving(self.service()):
                return self.handler(event, context)
        finally:
            _function_tmp.reset(token)
            took = time.monotonic() - started
            if took > self.spec.timeout_s:  # Lambda would have stopped it; the caller would have seen a timeout
                self.tier.overran.append(f"{self.spec.name} ran {took:.1f} s of its {self.spec.timeout_s} s")

    @property
    def denied(self) -> list[str]:
        return self.enforcer.denied

    @property
    def temp_files(self) -> int:
        """How many temporary files its invocations made in its /tmp."""
        return self.tier.temp_files.get(str(self.tmp), 0)


class DeployedTailor:
    """The stack of `template`, running in this process (and the job task in its own)."""

    def __init__(self, template: dict[str, Any], workdir: Path, image: Image, *,
                 bucket_keys: dict[str, str] | None = None) -> None:
        self.topology = topology.read(template)
        self.workdir = workdir
        self.region = topology.REGION
        self.bucket_keys = dict(bucket_keys or {})
        # RunTask errors to raise before the next tasks start (as ECS answers when it has no capacity, ...).
        self.ecs_failures: list[str] = []
        self.retry_delays: list[float] = []
        self.executions: list[Execution] = []
        self._lock = threading.Lock()
        self._mounts: list[Path] = []
        # Invocations that ran past their function's timeout (in-process nothing stops them: reported instead).
        self.overran: list[str] = []
        # How many temporary files (or directories) each function's code made in its /tmp.
        self.temp_files: dict[str, int] = {}
        from moto import mock_aws

        self._mock = mock_aws()
        self._mock.start()
        self._patch_tempfile()
        self.session = boto3.session.Session(region_name=self.region, **CREDENTIALS)
        self._create_storage()
        self._server, self.endpoint = self._start_aws_endpoint()
        self.functions = {logical_id: Function(spec, self) for logical_id, spec in self.topology.functions.items()}
        self.task = FargateTask(self.topology.task, image, workdir, self.endpoint, {
            "principal": self.topology.task.role_arn, "statements": self.topology.task.statements,
            "region": self.region, "account": topology.ACCOUNT, "bucket_keys": self.bucket_keys})
        self.machine = StateMachine(
            self.topology.state_machine_definition,
            self.topology.state_machine_statements,
            Integrations(invoke_lambda=self._invoke_lambda, run_task=self._run_task,
                         task_roles=lambda arn: [self.topology.task.role_arn, self.topology.task.execution_role_arn],
                         task_definition_arn=self._task_definition_arn),
            sleep=self.retry_delays.append,  # Retry's backoff is recorded, not slept
        )
        self._runner = LocalLauncher(lambda _, arn: self._execute(arn), workers=4)
        # The test's own view: every table and bucket, no IAM (as an administrator in the console).
        workflow = self.function(constants.WORKFLOW_HANDLER)
        self.service = build_service(workflow.environment, session=self.session, launcher=self,
                                     wrap_client=SerializedClient)

    # ---- set-up ----

    def _create_storage(self) -> None:
        ddb, s3 = self.session.client("dynamodb"), self.session.client("s3")
        for table in self.topology.tables:
            options: dict[str, Any] = {}
            if table.indexes:
                options["GlobalSecondaryIndexes"] = [
                    {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                    for i in table.indexes]
            ddb.create_table(TableName=table.name, KeySchema=table.key_schema,
                             AttributeDefinitions=table.attributes, BillingMode="PAY_PER_REQUEST", **options)
        for bucket in self.topology.buckets:
            s3.create_bucket(Bucket=bucket)

    def _start_aws_endpoint(self) -> tuple[BaseWSGIServer, str]:
        """Loopback HTTP for the job container's SDK calls: moto, and Step Functions as this tier runs it."""
        from moto.server import DomainDispatcherApplication, create_backend_app

        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            if target.startswith("AWSStepFunctions."):
                body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
                status, answer = self._step_functions_api(target.split(".", 1)[1], body)
                start_response(status, [("Content-Type", "application/x-amz-json-1.0")])
                return [json.dumps(answer).encode()]
            with MOTO_LOCK:
                return list(moto_app(environ, start_response))

        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True, name="deployed-tier-aws").start()
        return server, f"http://127.0.0.1:{server.port}"

    def lambda_tmp(self, spec: topology.LambdaSpec) -> Path:
        """The function's /tmp: a tmpfs of its EphemeralStorage size, so a write past it fails as in Lambda."""
        path = self.workdir / f"lambda-tmp-{spec.logical_id}"
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={spec.tmp_mb}m,mode=1777", "tmpfs", str(path)],
                       check=True)
        self._mounts.append(path)
        return path

    def _patch_tempfile(self) -> None:
        """tempfile's default directory becomes the invoking function's /tmp on that function's threads."""
        real, realb = tempfile.gettempdir, tempfile.gettempdirb

        def scoped() -> str | None:
            """The invoking function's /tmp, unless moto (AWS, not the function) is the one spooling a file."""
            directory = _function_tmp.get()
            frame = sys._getframe(2)
            while directory and frame is not None:
                if str(frame.f_globals.get("__name__", "")).startswith("moto."):
                    return None
                frame = frame.f_back  # type: ignore[assignment]
            return directory

        def counted() -> str | None:
            directory = scoped()
            if directory:
                with self._lock:
                    self.temp_files[directory] = self.temp_files.get(directory, 0) + 1
            return directory

        def gettempdir() -> str:
            return counted() or real()

        def gettempdirb() -> bytes:
            directory = counted()
            return directory.encode() if directory else realb()

        self._restore = (real, realb)
        tempfile.gettempdir, tempfile.gettempdirb = gettempdir, gettempdirb  # type: ignore[assignment]

    # ---- what the tests reach ----

    def function(self, handler: str) -> Function:
        return self.functions[self.topology.function_by_handler(handler).logical_id]

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        """API Gateway: the route's function gets the proxy event; its answer becomes the HTTP response."""
        function = self.functions[self.topology.route(path).logical_id]
        return response_from_proxy(function.invoke(event_from_request(method, path, headers, body)))

    @property
    def denied(self) -> list[str]:
        """Every call a role refused: the functions', the job tasks' and the state machine's."""
        found = [line for f in self.functions.values() for line in f.denied]
        found += [line for run in self.task.runs for line in run.denied]
        found += [e.outcome.cause or "" for e in self.executions
                  if e.outcome and e.outcome.error and "AccessDenied" in e.outcome.error]
        return found

    @property
    def task_runs(self) -> list[TaskRun]:
        return list(self.task.runs)

    def start_schedules(self, shift: float = 0.0) -> list[str]:
        """Each EventBridge schedule fires once: its role starts its target with its input."""
        started = []
        for schedule in self.topology.schedules:
            statements = self.topology.roles.get(schedule["role_arn"], [])
            if not allows(statements, Request("states:StartExecution", schedule["target"])):
                raise PermissionError(f"the schedule's role may not start {schedule['target']}")
            started.append(self.start_execution(schedule["target"], schedule["input"], shift=shift))
        return started

    # ---- Step Functions ----

    def launch(self, job: str, arn: str) -> None:
        """The admin Service's launcher (tests that call the domain directly): start the jobs state machine."""
        self.start_execution(self.topology.state_machine_arn, {"job": job, "arn": arn})

    def start_execution(self, machine_arn: str, execution_input: dict[str, Any], name: str | None = None,
                        shift: float = 0.0) -> str:
        if machine_arn != self.topology.state_machine_arn:
            raise LookupError(machine_arn)
        name = name or uuid.uuid4().hex
        arn = f"{machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        with self._lock:
            if any(e.arn == arn for e in self.executions):
                raise FileExistsError(arn)
            self.executions.append(Execution(arn, execution_input, shift))
        self._runner.launch("execution", arn)  # Step Functions runs every execution at once: a pool here
        return arn

    def _execute(self, arn: str) -> None:
        execution = next(e for e in self.executions if e.arn == arn)
        token = _clock_shift.set(execution.shift)
        try:
            execution.outcome = self.machine.execute(execution.input)
        except BaseException as err:  # a state the tier cannot interpret: reported by the fixture
            execution.error = err
        finally:
            _clock_shift.reset(token)

    def intercept_start_execution(self, params: dict[str, Any], **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        """A function's StartExecution (already allowed by its role): started here instead of in moto."""
        body = json.loads(params["body"])
        status, answer = self._step_functions_api("StartExecution", body)
        if status.startswith("200"):
            return _StartedExecution(), answer
        raise ClientError({"Error": {"Code": answer["__type"], "Message": answer["message"]},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "StartExecution")

    def _step_functions_api(self, operation: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if operation != "StartExecution":
            return "400 Bad Request", {"__type": "UnknownOperationException", "message": operation}
        try:
            arn = self.start_execution(body["stateMachineArn"], json.loads(body.get("input") or "{}"),
                                       body.get("name"))
        except LookupError:
            return "400 Bad Request", {"__type": "StateMachineDoesNotExist",
                                       "message": f"State Machine Does Not Exist: '{body['stateMachineArn']}'"}
        except FileExistsError as err:
            return "400 Bad Request", {"__type": "ExecutionAlreadyExists", "message": f"Execution Already Exists: "
                                                                                      f"'{err}'"}
        return "200 OK", {"executionArn": arn, "startDate": time.time()}

    def _invoke_lambda(self, function_arn: str, payload: Any) -> Any:
        function = self.functions[self.topology.function_by_arn(function_arn).logical_id]
        # A Lambda's event is JSON: what it receives is what survives serialisation.
        return json.loads(json.dumps(function.invoke(json.loads(json.dumps(payload)))))

    def _task_definition_arn(self, written: str) -> str:
        task = self.topology.task
        if written in (task.family, task.arn) or written.startswith(f"{task.family}:"):
            return task.arn
        raise TaskFailed("ECS.ClientException", f"Unable to find task definition '{written}'")

    def _run_task(self, parameters: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        if self.ecs_failures:
            error = self.ecs_failures.pop(0)
            raise TaskFailed(error, "RunTask could not start the task (injected by the test)")
        if parameters.get("LaunchType") != "FARGATE" or "NetworkConfiguration" not in parameters:
            raise TaskFailed("ECS.InvalidParameterException", "Fargate tasks need awsvpc network configuration")
        task = self.topology.task
        overrides: dict[str, str] = {}
        for container in parameters.get("Overrides", {}).get("ContainerOverrides", []):
            if container.get("Name") != task.container_name:
                raise TaskFailed("ECS.InvalidParameterException", f"no container {container.get('Name')}")
            overrides.update({e["Name"]: str(e["Value"]) for e in container.get("Environment", [])})
        return self.task.run(overrides, timeout).description(task)

    # ---- waiting and stopping ----

    def wait_idle(self, timeout: float = 300.0) -> bool:
        return self._runner.wait_idle(timeout)

    def interpreter_errors(self) -> list[str]:
        return [f"{e.arn}: {e.error!r}" for e in self.executions if e.error is not None]

    def stop(self) -> None:
        self.wait_idle(60)
        self._runner.shutdown()
        self._server.shutdown()
        self._server.server_close()
        tempfile.gettempdir, tempfile.gettempdirb = self._restore  # type: ignore[assignment]
        for path in self._mounts:
            subprocess.run(["umount", str(path)], check=False)
        self._mock.stop()

