"""The training image's entrypoint (tailor.handlers.container) under moto: what the jobs state machine's Fargate task
leaves on the resource, and the exit status Step Functions sees."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import time

import pytest

from tailor import config
from tailor.handlers.container import main
from tailor.handlers.workflows import lambda_handler as workflow_handler
from tailor.local.embedded import LambdaContext
from tailor.operations import common, import_jobs, solutions
from tests.samples import interactions_csv

STOPPED = ("The job's container was stopped (SIGTERM) before it finished: its execution was stopped, or the job ran "
           "longer than the deployment allows (jobTimeoutHours in cdk.json).")


def container_env(job, arn):
    return {config.ENV_JOB: job, config.ENV_JOB_ARN: arn}


def new_version(svc, launcher, solution):
    version = solutions.create_solution_version(svc, {"solutionArn": solution})["solutionVersionArn"]
    assert launcher.launched == [("train", version)]
    launcher.launched.clear()  # the container runs it, not the test's launcher
    return version


def ecs_catch(arn):
    """What the state machine's Catch sends the workflow Lambda after the task's container exits non-zero."""
    cause = {"Error": "States.TaskFailed",
             "Cause": json.dumps({"StopCode": "EssentialContainerExited",
                                  "StoppedReason": "Essential container in task exited"})}
    workflow_handler({"job": "fail", "arn": arn, "cause": cause}, LambdaContext(aws_request_id="r"))


@pytest.mark.parametrize("how", ["environment", "arguments"])
def test_train_job_makes_the_version_active_and_exits_0(svc, launcher, solution, how):
    version = new_version(svc, launcher, solution)
    # ECS passes container overrides; a person running the image by hand may pass arguments instead.
    code = main([], container_env("train", version)) if how == "environment" else main(["train", version], {})
    assert code == 0
    assert svc.store.get(version).status == "ACTIVE"
    assert svc.store.get(solution).doc["latestSolutionVersion"]["status"] == "ACTIVE"
    artifact = svc.store.get(version).internal["artifact"]
    assert list(svc.blobs.list(artifact)) == [artifact]


def test_training_refused_for_too_little_data_is_the_jobs_outcome_not_a_crash(svc, launcher, dataset, aws):
    aws.client("s3").put_object(Bucket="artifacts", Key="small.csv", Body=interactions_csv(n_users=30).encode())
    group = svc.store.get(dataset).doc["datasetGroupArn"]
    import_jobs.create_dataset_import_job(svc, {"jobName": "small", "datasetArn": dataset,
                                                "dataSource": {"dataLocation": "s3://artifacts/small.csv"}})
    launcher.run_all(svc)
    solution = solutions.create_solution(svc, {"name": "small", "datasetGroupArn": group,
                                               "recipeArn": "arn:aws:personalize:::recipe/aws-popularity-count"})
    launcher.run_all(svc)
    version = new_version(svc, launcher, solution["solutionArn"])

    assert main([], container_env("train", version)) == 0  # the job recorded it: the workflow's Catch is not needed
    failed = svc.store.get(version)
    assert failed.status == "CREATE FAILED"
    assert failed.doc["failureReason"].startswith("Training needs at least 1000 interactions")


def test_a_crash_is_recorded_with_the_containers_reason_which_the_catch_path_keeps(svc, launcher, solution, aws):
    group = svc.store.get(solution).doc["datasetGroupArn"]
    (dataset,) = common.children(svc, "dataset", group)
    snapshot = dataset.internal["snapshot"]
    bucket, key = snapshot[len("s3://"):].split("/", 1)
    aws.client("s3").delete_object(Bucket=bucket, Key=key)  # the imported data vanished from the artifacts bucket
    version = new_version(svc, launcher, solution)

    assert main([], container_env("train", version)) == 1
    reason = f"Internal error during train: FileNotFoundError: {snapshot} does not exist"
    failed = svc.store.get(version)
    assert (failed.status, failed.doc["failureReason"]) == ("CREATE FAILED", reason)
    assert svc.store.get(solution).doc["latestSolutionVersion"]["status"] == "CREATE FAILED"

    ecs_catch(version)  # then Step Functions records ECS's own cause: it must not replace the container's reason
    assert svc.store.get(version).doc["failureReason"] == reason


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        ([], {}),
        ([], {config.ENV_JOB: "train"}),
        ([], {config.ENV_JOB_ARN: "ARN"}),
        ([], {config.ENV_JOB: " ", config.ENV_JOB_ARN: "ARN"}),
        ([], {config.ENV_JOB: "retrain", config.ENV_JOB_ARN: "ARN"}),
        (["train"], {}),
        (["train", "ARN", "extra"], {}),
    ],
)
def test_no_job_no_arn_or_an_unknown_job_exits_2_and_changes_nothing(svc, launcher, solution, capsys, argv, env):
    version = new_version(svc, launcher, solution)
    env = {k: v.replace("ARN", version) for k, v in env.items()}
    argv = [a.replace("ARN", version) for a in argv]
    assert main(argv, env) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert config.ENV_JOB in err or "retrain" in err
    assert svc.store.get(version).status == "CREATE PENDING"


def test_sigterm_during_training_records_that_the_container_was_stopped(svc, launcher, solution, monkeypatch):
    from tailor.training import data as training_data

    version = new_version(svc, launcher, solution)
    real_check = training_data.check_minimum

    def check_then_ecs_stops_the_task(data, **kwargs):
        real_check(data, **kwargs)
        try:  # a job's own broad `except Exception` must not swallow the stop
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
        except Exception:
            pass

    monkeypatch.setattr(training_data, "check_minimum", check_then_ecs_stops_the_task)
    unhandled = []

    def fallback(signum, frame):  # were the container not to handle SIGTERM, pytest would die without this
        unhandled.append(signum)

    outer = signal.signal(signal.SIGTERM, fallback)
    try:
        started = time.monotonic()
        code = main([], container_env("train", version))
        after = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, outer)
    assert time.monotonic() - started < 10  # the sleep was interrupted: the stop ended the job at once
    assert (code, unhandled) == (1, [])
    assert after is fallback  # the container's handler was only there while the job ran
    failed = svc.store.get(version)
    assert (failed.status, failed.doc["failureReason"]) == ("CREATE FAILED", STOPPED)
    assert not list(svc.blobs.list("s3://artifacts/models/"))  # no model was written
    ecs_catch(version)
    assert svc.store.get(version).doc["failureReason"] == STOPPED


def test_log_lines_are_json_with_the_job_and_arn(svc, launcher, solution):
    version = new_version(svc, launcher, solution)
    handler = logging.getLogger("tailor").powertools_handler  # type: ignore[attr-defined]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        assert main([], container_env("train", version)) == 0
        logging.getLogger("tailor.jobs").info("after the job")
    finally:
        handler.setStream(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    during, after = lines[:-1], lines[-1]
    messages = [line["message"] for line in during]
    assert messages[0] == "job started" and messages[-1] == "job finished"
    assert any("[5/5] ACTIVE" in m for m in messages)  # the training code's own progress lines go through it too
    assert all((line["job"], line["arn"]) == ("train", version) for line in during)
    assert "job" not in after and "arn" not in after
