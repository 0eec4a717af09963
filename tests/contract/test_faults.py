"""Faults, told from the user's side through stock boto3 clients: what a Describe* or a failed call shows when something
breaks part-way, and that the data and models that were there before are all still there.

  * a training job that dies part-way (in the local launcher or the Fargate container's entrypoint);
  * an import whose S3 object disappears before or while the job reads it;
  * DynamoDB throttling the events table under PutEvents: absorbed by the SDK's retries, or beyond them;
  * the workflow's runner killed mid-job (a Lambda timeout, a Fargate task past jobTimeoutHours): the Catch path;
  * UpdateCampaign called by several callers at once.

The lower levels have their own tests (tests/lambdas: test_event_store's partial BatchWriteItem, the workflow's catch
path, the container entrypoint's crash and SIGTERM); these tell each story end to end.
"""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from tailor import config
from tailor.handlers import container, workflows
from tailor.local.embedded import EVENTS_TABLE, LambdaContext
from tailor.testing import TailorFixture
from tests.contract.conftest import POPULARITY, import_and_wait, make_solution, train
from tests.contract.test_data_jobs import export, read_export
from tests.samples import interactions_csv

ARTIFACTS = "tailor-artifacts"
NO_EXPLORATION = {"itemExplorationConfig": {"explorationWeight": "0"}}  # recommendations without random picks
USERS = ("u0", "u7", "u33")


class HeldJobs:
    """The local launcher, except that jobs of the named kinds wait until released: the test decides when (and where)
    a job runs, as the Step Functions workflow decides in AWS."""

    def __init__(self, tailor: TailorFixture, monkeypatch: pytest.MonkeyPatch, *kinds: str) -> None:
        self.kinds = set(kinds)
        self.held: list[tuple[str, str]] = []
        self._launch = tailor.embedded.launcher.launch
        monkeypatch.setattr(tailor.embedded.launcher, "launch", self.launch)

    def launch(self, job: str, arn: str) -> None:
        if job in self.kinds:
            self.held.append((job, arn))
        else:
            self._launch(job, arn)

    def take(self) -> tuple[str, str]:
        """The one held job, for the test to run itself (it will not be launched)."""
        (job,) = self.held
        self.held = []
        return job

    def release(self) -> None:
        """Launch what was held, and hold nothing from now on."""
        held, self.held, self.kinds = self.held, [], set()
        for job, arn in held:
            self._launch(job, arn)


class Killed(BaseException):
    """The job's runtime killed it (a Lambda timeout, SIGKILL): raised where it stops, it passes every `except
    Exception`, so nothing of the job's own error handling records anything, as when the process simply vanishes."""


def recommendations(runtime: Any, campaign: str, user: str, **kwargs: Any) -> list[tuple[str, float | None]]:
    items = runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=50, **kwargs)["itemList"]
    return [(item["itemId"], item.get("score")) for item in items]


def objects(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """{key: ETag} under a prefix: the same keys with the same ETags means the same bytes."""
    return {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def lambda_context() -> LambdaContext:
    return LambdaContext(aws_request_id="step")


def catch(arn: str, cause: dict[str, str]) -> None:
    """The state machine's Catch: the workflow Lambda records the caught {"Error", "Cause"} on the resource."""
    workflows.lambda_handler({"job": "fail", "arn": arn, "cause": cause}, lambda_context())


LAMBDA_TIMEOUT = {"Error": "Sandbox.Timedout", "Cause": json.dumps(
    {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 900.00 seconds"})}
TASK_TIMEOUT = {"Error": "States.Timeout", "Cause": ""}  # ecs:runTask.sync past the task's timeout (jobTimeoutHours)
ECS_EXITED = {"Error": "States.TaskFailed", "Cause": json.dumps(
    {"StopCode": "EssentialContainerExited", "StoppedReason": "Essential container in task exited",
     "Containers": [{"Name": "job", "ExitCode": 1}]})}


# ---- 1. A training job dies part-way ---------------------------------------------------------------------------------


@pytest.fixture
def serving(personalize: Any, tailor: TailorFixture, trained_group: str) -> dict[str, Any]:
    """A user-personalization solution whose version 1 a campaign serves, with what the user saw of it."""
    solution = make_solution(personalize, tailor, trained_group)
    first = train(personalize, tailor, solution, name="v1")
    assert first["status"] == "ACTIVE", first.get("failureReason")
    campaign = personalize.create_campaign(name="shop", solutionVersionArn=first["solutionVersionArn"],
                                           campaignConfig=NO_EXPLORATION)["campaignArn"]
    tailor.wait()
    runtime = tailor.client("personalize-runtime")
    return {
        "solution": solution, "v1": first["solutionVersionArn"], "campaign": campaign, "runtime": runtime,
        "metrics": personalize.get_solution_metrics(solutionVersionArn=first["solutionVersionArn"])["metrics"],
        "recommendations": {u: recommendations(runtime, campaign, u) for u in USERS},
        "artifacts": objects(tailor.client("s3"), ARTIFACTS, "models/"),
    }


class TrainingCrash:
    """Makes the next training die part-way, at one of two points, once armed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
        self.armed = False
        if where == "final fit":  # after the held-out fit and the offline metrics: the served model's own fit
            from tailor.training.recipes import get_recipe

            recipe = type(get_recipe("aws-user-personalization"))
            real_fit, fits = recipe.fit, [0]

            def fit(recipe_self: Any, data: Any, params: Any) -> Any:
                fits[0] = fits[0] + 1 if self.armed else 0
                if fits[0] == 2:  # the first is the held-out model's, which the offline metrics come from
                    raise MemoryError("Unable to allocate 2.00 GiB for an array with shape (16384, 16384) and data "
                                      "type float64")
                return real_fit(recipe_self, data, params)

            monkeypatch.setattr(recipe, "fit", fit)
            self.reason = ("Internal error during train: MemoryError: Unable to allocate 2.00 GiB for an array with "
                           "shape (16384, 16384) and data type float64. The job ran out of memory; in AWS, raise "
                           "trainingMemoryMb (and trainingCpu) in cdk.json.")
        else:  # with the model fitted, while its artifact is being written: part of it was spooled
            from tailor.training import entrypoint

            real_write = entrypoint.write_artifact

            def write_artifact(out: Any, *args: Any, **kwargs: Any) -> None:
                if not self.armed:
                    return real_write(out, *args, **kwargs)
                out.write(b"PK\x03\x04" + bytes(64 << 10))
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(entrypoint, "write_artifact", write_artifact)
            self.reason = "Internal error during train: OSError: [Errno 28] No space left on device"


@pytest.mark.parametrize("runner", ["local launcher", "container"])
@pytest.mark.parametrize("where", ["final fit", "artifact write"])
def test_training_that_dies_part_way_fails_the_new_version_and_the_campaign_serves_the_old_one(
        personalize, tailor, serving, monkeypatch, runner, where):
    s3 = tailor.client("s3")
    crash = TrainingCrash(monkeypatch, where)
    held = HeldJobs(tailor, monkeypatch, *(["train"] if runner == "container" else []))

    def train_version(name: str, exit_code: int) -> str:
        arn = personalize.create_solution_version(solutionArn=serving["solution"], name=name)["solutionVersionArn"]
        if runner == "container":  # the state machine's Fargate task: python -m tailor.handlers.container
            assert held.take() == ("train", arn)
            env = {config.ENV_JOB: "train", config.ENV_JOB_ARN: arn}
            assert container.main([], env) == exit_code
            if exit_code:
                catch(arn, ECS_EXITED)  # the non-zero exit goes through the workflow's Catch too
        tailor.wait()
        return str(arn)

    # Given version 2's training dies part-way
    crash.armed = True
    v2 = train_version("v2", exit_code=1)

    # Then version 2 is CREATE FAILED with what went wrong, and the solution shows it as its latest attempt
    failed = personalize.describe_solution_version(solutionVersionArn=v2)["solutionVersion"]
    assert (failed["status"], failed["failureReason"]) == ("CREATE FAILED", crash.reason)
    latest = personalize.describe_solution(solutionArn=serving["solution"])["solution"]["latestSolutionVersion"]
    assert (latest["solutionVersionArn"], latest["status"]) == (v2, "CREATE FAILED")
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.get_solution_metrics(solutionVersionArn=v2)
    # and it left nothing in the artifacts bucket: version 1's model and metrics are the same objects as before
    assert objects(s3, ARTIFACTS, "models/") == serving["artifacts"]
    assert not objects(s3, ARTIFACTS, f"models/sol/{v2.rsplit('/', 1)[1]}/")
    # Version 1 is ACTIVE with the same metrics, and the campaign serves it exactly as before
    v1 = personalize.describe_solution_version(solutionVersionArn=serving["v1"])["solutionVersion"]
    assert v1["status"] == "ACTIVE" and "failureReason" not in v1
    assert personalize.get_solution_metrics(solutionVersionArn=serving["v1"])["metrics"] == serving["metrics"]
    campaign = personalize.describe_campaign(campaignArn=serving["campaign"])["campaign"]
    assert (campaign["status"], campaign["solutionVersionArn"]) == ("ACTIVE", serving["v1"])
    assert {u: recommendations(serving["runtime"], serving["campaign"], u) for u in USERS} == serving[
        "recommendations"]

    # And once the cause is gone, the next version trains
    crash.armed = False
    v3 = train_version("v3", exit_code=0)
    assert personalize.describe_solution_version(solutionVersionArn=v3)["solutionVersion"]["status"] == "ACTIVE"
    assert set(objects(s3, ARTIFACTS, "models/")) > set(serving["artifacts"])


# ---- 2. An import whose S3 object disappears -------------------------------------------------------------------------

FIRST_CSV = interactions_csv(n_users=3, per_user=4)
PART_1 = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" + "".join(
    f"p{u},i{u},{1_750_000_000 + u},click,1.0\n" for u in range(3))
PART_2 = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" + "".join(
    f"q{u},i{u},{1_760_000_000 + u},purchase,2.0\n" for u in range(2))


def rows_of(*texts: str) -> list[list[str]]:
    return [line.split(",") for text in texts for line in text.splitlines()[1:]]


@pytest.fixture
def imported(personalize: Any, tailor: TailorFixture, s3: Any, make_dataset: Callable[[str], str]) -> str:
    """An Interactions dataset holding one good FULL import (FIRST_CSV)."""
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="first.csv", Body=FIRST_CSV.encode())
    assert import_and_wait(personalize, tailor, dataset, "s3://user-data/first.csv", "first")["status"] == "ACTIVE"
    return dataset


def test_import_whose_file_is_deleted_before_the_job_runs_fails_naming_it(personalize, tailor, s3, imported,
                                                                          monkeypatch):
    held = HeldJobs(tailor, monkeypatch, "import")
    s3.put_object(Bucket="user-data", Key="next.csv", Body=PART_1.encode())
    # Given an import accepted while its file was there, the file is deleted before the job reads it
    arn = personalize.create_dataset_import_job(
        jobName="next", datasetArn=imported, dataSource={"dataLocation": "s3://user-data/next.csv"},
        roleArn="arn:aws:iam::123456789012:role/PersonalizeS3", importMode="FULL")["datasetImportJobArn"]
    s3.delete_object(Bucket="user-data", Key="next.csv")
    held.release()
    tailor.wait()
    # Then the job is CREATE FAILED naming the object, and the dataset holds the first import's rows, no fewer
    job = personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]
    assert (job["status"], job["failureReason"]) == ("CREATE FAILED", "The data file s3://user-data/next.csv does "
                                                                      "not exist")
    assert export(personalize, tailor, imported, "after-failure", "BULK")["status"] == "ACTIVE"
    assert read_export(s3, "exports/after-failure/")[1] == rows_of(FIRST_CSV)
    # And once the file is back, the same import (a new job) replaces the data
    s3.put_object(Bucket="user-data", Key="next.csv", Body=PART_1.encode())
    assert import_and_wait(personalize, tailor, imported, "s3://user-data/next.csv", "next-again")["status"] == "ACTIVE"
    export(personalize, tailor, imported, "after-retry", "BULK")
    assert read_export(s3, "exports/after-retry/")[1] == rows_of(PART_1)


def test_import_whose_second_file_disappears_mid_read_fails_and_keeps_the_earlier_data(personalize, tailor, s3,
                                                                                       imported, monkeypatch):
    s3.put_object(Bucket="user-data", Key="batch/part-1.csv", Body=PART_1.encode())
    s3.put_object(Bucket="user-data", Key="batch/part-2.csv", Body=PART_2.encode())
    # Given a FULL import of a folder whose second file is deleted while the job reads the first (after listing)
    blobs = tailor.embedded.service.blobs
    real_open, opened = blobs.open, []

    def open_and_lose_part_2(uri: str) -> Any:
        opened.append(uri)
        if uri == "s3://user-data/batch/part-1.csv":
            s3.delete_object(Bucket="user-data", Key="batch/part-2.csv")
        return real_open(uri)

    monkeypatch.setattr(blobs, "open", open_and_lose_part_2)
    job = import_and_wait(personalize, tailor, imported, "s3://user-data/batch/", "batch")
    monkeypatch.setattr(blobs, "open", real_open)
    # Then the job is CREATE FAILED naming the object that vanished, after reading the one before it
    assert opened == ["s3://user-data/batch/part-1.csv", "s3://user-data/batch/part-2.csv"]
    assert (job["status"], job["failureReason"]) == (
        "CREATE FAILED", "The data file s3://user-data/batch/part-2.csv does not exist")
    # and the FULL import replaced nothing: the dataset holds the first import's rows, not part 1's
    export(personalize, tailor, imported, "after-failure", "BULK")
    assert read_export(s3, "exports/after-failure/")[1] == rows_of(FIRST_CSV)
    # And with the file back, a new job imports both
    s3.put_object(Bucket="user-data", Key="batch/part-2.csv", Body=PART_2.encode())
    assert import_and_wait(personalize, tailor, imported, "s3://user-data/batch/", "batch-again")["status"] == "ACTIVE"
    export(personalize, tailor, imported, "after-retry", "BULK")
    assert sorted(read_export(s3, "exports/after-retry/")[1]) == sorted(rows_of(PART_1, PART_2))


# ---- 3. DynamoDB throttling on PutEvents -----------------------------------------------------------------------------


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._data


class ThrottledEventsTable:
    """The events table under throttling, at the HTTP level of Tailor's own DynamoDB client (so botocore's retries
    handle it as they would the real table's answer): each write attempt into the events table is refused with
    ProvisionedThroughputExceededException while `refuse` lasts. With `partial`, the first BatchWriteItem writes that
    many of its items and returns the rest as UnprocessedItems, as a throttled table does, before the refusals."""

    def __init__(self, tailor: TailorFixture, refuse: int, partial: int | None = None) -> None:
        self.refuse, self.partial = refuse, partial
        self.attempts: list[str] = []
        self._direct = tailor.client("dynamodb")  # unthrottled: what DynamoDB itself wrote
        self._events = tailor.embedded.service.events._ddb.meta.events  # type: ignore[attr-defined]
        for operation in ("PutItem", "BatchWriteItem"):
            self._events.register_first(f"before-send.dynamodb.{operation}", self._send)

    def recover(self) -> None:
        self.refuse = 0

    def _send(self, request: Any, event_name: str, **kwargs: Any) -> AWSResponse | None:
        body = json.loads(request.body)
        tables = [body["TableName"]] if "TableName" in body else list(body.get("RequestItems", {}))
        if tables != [EVENTS_TABLE]:
            return None
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts.append(operation)
        if self.partial is not None and operation == "BatchWriteItem":
            count, self.partial = self.partial, None
            requests = body["RequestItems"][EVENTS_TABLE]
            written, left = requests[:count], requests[count:]
            self._direct.batch_write_item(RequestItems={EVENTS_TABLE: written})
            return self._answer(request, 200, {"UnprocessedItems": {EVENTS_TABLE: left}})
        if self.refuse <= 0:
            return None
        self.refuse -= 1
        return self._answer(request, 400, {
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."})

    @staticmethod
    def _answer(request: Any, status: int, body: dict[str, Any]) -> AWSResponse:
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "throttle-test"}
        answer = AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))  # type: ignore[arg-type]
        # botocore calls every before-send handler and takes the first answer: moto's stub, called after this one,
        # would carry the write out all the same unless the request is pointed somewhere it does not serve.
        request.url = "http://throttled.invalid/"
        return answer


@pytest.fixture
def tracked(personalize: Any, tailor: TailorFixture, trained_group: str) -> dict[str, Any]:
    """A campaign, an event tracker and an "unseen items" filter (items the user clicked are left out)."""
    solution = make_solution(personalize, tailor, trained_group)
    version = train(personalize, tailor, solution)["solutionVersionArn"]
    campaign = personalize.create_campaign(name="shop", solutionVersionArn=version,
                                           campaignConfig=NO_EXPLORATION)["campaignArn"]
    tracking = personalize.create_event_tracker(name="tracker", datasetGroupArn=trained_group)["trackingId"]
    unseen = personalize.create_filter(name="unseen", datasetGroupArn=trained_group,
                                       filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")',
                                       )["filterArn"]
    tailor.wait()
    runtime = tailor.client("personalize-runtime")

    def shown(user: str) -> set[str]:
        return {item for item, _ in recommendations(runtime, campaign, user, filterArn=unseen)}

    def stored(user: str) -> list[str]:
        return [e.event_id for e in tailor.embedded.service.events.user_events(trained_group, user, 100)]

    return {"tracking": tracking, "shown": shown, "stored": stored}


def clicks(*items: str) -> list[dict[str, Any]]:
    return [{"eventId": f"click-{item}", "eventType": "click", "itemId": item, "sentAt": 1_800_000_000 + n}
            for n, item in enumerate(items)]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoffs botocore's retries wait, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time", SimpleNamespace(sleep=waited.append))
    return waited


@pytest.mark.parametrize("items", [("i1",), ("i1", "i2", "i3")], ids=["PutItem", "BatchWriteItem"])
def test_throttled_put_events_is_absorbed_by_the_retries_and_stores_each_event_once(tailor, tracked, sleeps, items):
    # Given DynamoDB throttling the first 5 writes into the events table: Tailor's client (standard mode, max_attempts
    # 5) retries 5 times, 6 attempts in all
    throttle = ThrottledEventsTable(tailor, refuse=5)
    everything = tracked["shown"]("shopper")
    assert set(items) <= everything
    # When the user puts events, the call succeeds
    response = tailor.client("personalize-events").put_events(
        trackingId=tracked["tracking"], userId="shopper", sessionId="s", eventList=clicks(*items))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    # after 5 refused attempts and a sixth, each retry after a throttling backoff (jittered, at most 1, 2, 4, 8, 16 s)
    operation = "PutItem" if len(items) == 1 else "BatchWriteItem"
    assert throttle.attempts == [operation] * 6
    assert len(sleeps) == 5 and all(0 <= s <= 2**n for n, s in enumerate(sleeps))
    # Then each event is stored once and the next recommendations leave the clicked items out
    assert tracked["stored"]("shopper") == [f"click-{item}" for item in items]
    assert tracked["shown"]("shopper") == everything - set(items)


def test_put_events_throttled_beyond_the_retries_fails_and_the_users_retry_stores_each_event_once(tailor, tracked,
                                                                                                  sleeps):
    # A client that does not retry by itself, so the test sees the first answer (a stock client retries a 500)
    events = tailor.client("personalize-events", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    everything = tracked["shown"]("shopper")
    batch = clicks("i1", "i2", "i3")
    # Given DynamoDB writing 2 of the batch's 3 events, then refusing every write
    throttle = ThrottledEventsTable(tailor, refuse=1_000, partial=2)
    # When the user puts the batch, the call fails with a modelled error: no stack trace, a request id to quote
    code, status, message = error_of(lambda: events.put_events(
        trackingId=tracked["tracking"], userId="shopper", sessionId="s", eventList=batch))
    assert (code, status) == ("InternalFailure", 500)
    assert message.startswith("An internal error occurred (request ") and "Traceback" not in message
    # after Tailor retried what DynamoDB left unprocessed: the SDK's 6 attempts at it, each refused
    assert throttle.attempts == ["BatchWriteItem"] * 7
    assert tracked["stored"]("shopper") == ["click-i1", "click-i2"]
    # Then, once DynamoDB recovers, the user's retry of the identical call stores every event exactly once
    throttle.recover()
    events.put_events(trackingId=tracked["tracking"], userId="shopper", sessionId="s", eventList=batch)
    assert tracked["stored"]("shopper") == ["click-i1", "click-i2", "click-i3"]
    assert tracked["shown"]("shopper") == everything - {"i1", "i2", "i3"}
    # and retrying it again changes nothing
    events.put_events(trackingId=tracked["tracking"], userId="shopper", sessionId="s", eventList=batch)
    assert tracked["stored"]("shopper") == ["click-i1", "click-i2", "click-i3"]


# ---- 4. The workflow's runner killed mid-job -------------------------------------------------------------------------


def killed_by_the_runtime(*args: Any, **kwargs: Any) -> None:
    raise Killed


def stopped_by_sigterm(*args: Any, **kwargs: Any) -> None:
    raise container.Stopped  # what the container's SIGTERM handler raises where the job is


@pytest.mark.parametrize(("runner", "stop", "cause", "reason"), [
    # The workflow Lambda runs out of time: the runtime ends it, and Step Functions catches Sandbox.Timedout
    ("lambda", killed_by_the_runtime, LAMBDA_TIMEOUT, "Sandbox.Timedout: Task timed out after 900.00 seconds"),
    # The Fargate task runs past jobTimeoutHours, and a single long call outlasts the stop timeout: SIGKILL
    ("container", killed_by_the_runtime, TASK_TIMEOUT,
     "The job ran longer than the deployment allows (jobTimeoutHours in cdk.json) and was stopped."),
    # The same, with the container stopped in time by SIGTERM: it records its own reason, which the Catch keeps
    ("container", stopped_by_sigterm, TASK_TIMEOUT, container.STOPPED_REASON),
], ids=["lambda-timeout", "task-timeout-sigkill", "task-timeout-sigterm"])
def test_import_whose_runner_is_stopped_mid_job_ends_create_failed_and_keeps_the_data(
        personalize, tailor, s3, imported, monkeypatch, runner, stop, cause, reason):
    from tailor import jobs

    held = HeldJobs(tailor, monkeypatch, "import")
    s3.put_object(Bucket="user-data", Key="next.csv", Body=PART_1.encode())
    arn = personalize.create_dataset_import_job(
        jobName="next", datasetArn=imported, dataSource={"dataLocation": "s3://user-data/next.csv"},
        roleArn="arn:aws:iam::123456789012:role/PersonalizeS3", importMode="FULL")["datasetImportJobArn"]
    assert held.take() == ("import", arn)

    # Given the runner read the whole file and is stopped while it writes the dataset's new data
    real_write = jobs.write_snapshot
    monkeypatch.setattr(jobs, "write_snapshot", stop)
    if runner == "lambda":
        with pytest.raises(Killed):
            workflows.lambda_handler({"job": "import", "arn": arn}, lambda_context())
    elif stop is killed_by_the_runtime:
        with pytest.raises(Killed):
            container.main([], {config.ENV_JOB: "import", config.ENV_JOB_ARN: arn})
    else:
        assert container.main([], {config.ENV_JOB: "import", config.ENV_JOB_ARN: arn}) == 1
    monkeypatch.setattr(jobs, "write_snapshot", real_write)
    if stop is killed_by_the_runtime:  # nothing ran to record it: until the Catch runs, the job shows as running
        job = personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]
        assert job["status"] == "CREATE IN_PROGRESS"

    # When the workflow's Catch records what Step Functions caught
    catch(arn, cause)

    # Then the job is CREATE FAILED with the cause, not stuck in progress
    job = personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]
    assert (job["status"], job["failureReason"]) == ("CREATE FAILED", reason)
    # the dataset holds the earlier import's rows
    export(personalize, tailor, imported, "after-failure", "BULK")
    assert read_export(s3, "exports/after-failure/")[1] == rows_of(FIRST_CSV)
    # and a new import works
    held.release()
    assert import_and_wait(personalize, tailor, imported, "s3://user-data/next.csv", "next-again")["status"] == "ACTIVE"
    export(personalize, tailor, imported, "after-retry", "BULK")
    assert read_export(s3, "exports/after-retry/")[1] == rows_of(PART_1)


# ---- 5. Campaign updates: a Lambda timeout, concurrent UpdateCampaign calls ------------------------------------------

HOT_CSV = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" + "".join(
    f"u{u},hot,{1_800_000_000 + u * 10 + k},click,1.0\n" for u in range(60) for k in range(5))


@pytest.fixture
def updating(personalize: Any, tailor: TailorFixture, s3: Any, trained_group: str) -> dict[str, Any]:
    """A campaign serving popularity version 1; versions 2 and 3 trained after an incremental import made the item
    "hot" the most popular, so what a campaign serves tells the versions apart."""
    solution = make_solution(personalize, tailor, trained_group, recipe=POPULARITY)
    v1 = train(personalize, tailor, solution, name="v1")["solutionVersionArn"]
    (dataset,) = personalize.list_datasets(datasetGroupArn=trained_group)["datasets"]
    s3.put_object(Bucket="user-data", Key="hot.csv", Body=HOT_CSV.encode())
    assert import_and_wait(personalize, tailor, dataset["datasetArn"], "s3://user-data/hot.csv", "hot",
                           mode="INCREMENTAL")["status"] == "ACTIVE"
    v2, v3 = (train(personalize, tailor, solution, name=n)["solutionVersionArn"] for n in ("v2", "v3"))
    campaign = personalize.create_campaign(name="shop", solutionVersionArn=v1)["campaignArn"]
    tailor.wait()
    runtime = tailor.client("personalize-runtime")
    old = recommendations(runtime, campaign, "nobody")
    assert "hot" not in {item for item, _ in old}
    return {"campaign": campaign, "v1": v1, "v2": v2, "v3": v3, "runtime": runtime, "old": old}


def test_campaign_update_whose_lambda_times_out_fails_and_the_campaign_keeps_serving(personalize, tailor, updating,
                                                                                     monkeypatch):
    campaign, runtime = updating["campaign"], updating["runtime"]
    held = HeldJobs(tailor, monkeypatch, "update-campaign")
    personalize.update_campaign(campaignArn=campaign, solutionVersionArn=updating["v2"])
    assert held.take() == ("update-campaign", campaign)

    # Given the workflow Lambda applying the update is ended by its timeout just after marking it in progress
    store = tailor.embedded.service.store
    real_update, armed = store.update, [True]

    def update_then_killed(*args: Any, **kwargs: Any) -> Any:
        result = real_update(*args, **kwargs)
        if armed[0]:
            raise Killed
        return result

    monkeypatch.setattr(store, "update", update_then_killed)
    with pytest.raises(Killed):
        workflows.lambda_handler({"job": "update-campaign", "arn": campaign}, lambda_context())
    armed[0] = False
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert described["latestCampaignUpdate"]["status"] == "CREATE IN_PROGRESS"
    with pytest.raises(personalize.exceptions.ResourceInUseException):  # stuck like this, it could never change
        personalize.update_campaign(campaignArn=campaign, solutionVersionArn=updating["v3"])

    # When the workflow's Catch records the timeout
    catch(campaign, LAMBDA_TIMEOUT)

    # Then the update is CREATE FAILED with the cause, and the campaign is ACTIVE serving version 1 as before
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert (described["status"], described["solutionVersionArn"]) == ("ACTIVE", updating["v1"])
    latest = described["latestCampaignUpdate"]
    assert (latest["status"], latest["solutionVersionArn"], latest["failureReason"]) == (
        "CREATE FAILED", updating["v2"], "Sandbox.Timedout: Task timed out after 900.00 seconds")
    assert recommendations(runtime, campaign, "nobody") == updating["old"]
    # And the user can update it again
    held.release()
    personalize.update_campaign(campaignArn=campaign, solutionVersionArn=updating["v2"])
    tailor.wait()
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert (described["status"], described["solutionVersionArn"]) == ("ACTIVE", updating["v2"])
    assert described["latestCampaignUpdate"]["status"] == "ACTIVE"
    assert recommendations(runtime, campaign, "nobody")[0][0] == "hot"


def test_concurrent_update_campaign_calls_accept_one_and_serving_never_stops(personalize, tailor, updating,
                                                                            monkeypatch):
    campaign, runtime, old = updating["campaign"], updating["runtime"], updating["old"]
    # Four callers, each with its own client, version and TPS
    calls = [(updating["v2"], 2), (updating["v3"], 3), (updating["v2"], 4), (updating["v3"], 5)]
    held = HeldJobs(tailor, monkeypatch, "update-campaign")  # the update applies when the test lets it
    # and a request made while the update job is in progress (between its two writes) is answered too
    store, in_progress = tailor.embedded.service.store, []
    real_update = store.update

    def update_and_ask(arn: str, changes: Any, **kwargs: Any) -> Any:
        result = real_update(arn, changes, **kwargs)
        if (changes.get("latestCampaignUpdate") or {}).get("status") == "CREATE IN_PROGRESS":
            in_progress.append(recommendations(runtime, campaign, "nobody"))
        return result

    monkeypatch.setattr(store, "update", update_and_ask)
    # The worst interleaving, every time: each caller reads the campaign (no update in flight yet) before any writes
    real_get, all_read, this_thread = store.get, threading.Barrier(len(calls)), threading.local()

    def get_then_wait_for_the_others(arn: str) -> Any:
        found = real_get(arn)
        if arn == campaign and threading.current_thread().name.startswith("racer") and not hasattr(this_thread, "read"):
            this_thread.read = True
            all_read.wait(timeout=30)
        return found

    monkeypatch.setattr(store, "get", get_then_wait_for_the_others)
    clients = [tailor.client("personalize") for _ in calls]
    outcomes: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def update(i: int) -> None:
        version, tps = calls[i]
        start.wait()
        try:
            clients[i].update_campaign(campaignArn=campaign, solutionVersionArn=version, minProvisionedTPS=tps)
            outcomes[i] = "accepted"
        except ClientError as err:
            outcomes[i] = (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"],
                           err.response["Error"]["Message"])

    # GetRecommendations in a loop all along, each answer with the phase before and after the call
    phase, answers, failures = ["racing"], [], []
    stop, seen = threading.Event(), {"pending": threading.Event(), "done": threading.Event()}

    def poll() -> None:
        while not stop.is_set():
            before = phase[0]
            try:
                answers.append((before, phase[0], recommendations(runtime, campaign, "nobody")))
                if before in seen:
                    seen[before].set()
            except Exception as err:
                failures.append(err)
            stop.wait(0.002)  # a breath between calls: a tight loop would starve the other threads of the GIL

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        racers = [threading.Thread(target=update, args=(i,), name=f"racer-{i}") for i in range(len(calls))]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        phase[0] = "pending"

        # Then exactly one call is accepted, the others are refused with the modelled error
        accepted = [i for i, outcome in enumerate(outcomes) if outcome == "accepted"]
        assert len(accepted) == 1, outcomes
        winner = calls[accepted[0]]
        refused = ("ResourceInUseException", 400,
                   f"Campaign {campaign} has an update in status CREATE PENDING; wait for it")
        assert [outcome for outcome in outcomes if outcome != "accepted"] == [refused] * (len(calls) - 1)
        # and until the update is applied, the campaign serves version 1
        described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
        assert (described["status"], described["solutionVersionArn"]) == ("ACTIVE", updating["v1"])
        latest = described["latestCampaignUpdate"]
        assert (latest["status"], latest["solutionVersionArn"], latest["minProvisionedTPS"]) == (
            "CREATE PENDING", *winner)
        assert seen["pending"].wait(30)

        phase[0] = "updating"
        held.release()
        tailor.wait()
        phase[0] = "done"
        assert seen["done"].wait(30)
    finally:
        stop.set()
        poller.join()

    # The campaign ends ACTIVE on the accepted call's version and TPS
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert (described["status"], described["solutionVersionArn"], described["minProvisionedTPS"]) == (
        "ACTIVE", *winner)
    assert described["latestCampaignUpdate"]["status"] == "ACTIVE" and "failureReason" not in described
    # and GetRecommendations never failed: version 1's answer until the update applied, then the new version's
    new = recommendations(runtime, campaign, "nobody")
    assert new[0][0] == "hot" and failures == []
    assert in_progress == [old]
    assert all(items == old for _, after, items in answers if after in ("racing", "pending"))
    assert all(items == new for before, _, items in answers if before == "done")
    served = [items == new for _, _, items in answers]
    assert all(items in (old, new) for _, _, items in answers)
    assert served == sorted(served)  # never back to the old version once the new one served

    # And a refused caller's retry, now that no update is in flight, is accepted
    retry = next(i for i, outcome in enumerate(outcomes) if outcome != "accepted")
    clients[retry].update_campaign(campaignArn=campaign, solutionVersionArn=calls[retry][0],
                                   minProvisionedTPS=calls[retry][1])
    tailor.wait()
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert (described["status"], described["solutionVersionArn"], described["minProvisionedTPS"]) == (
        "ACTIVE", *calls[retry])
