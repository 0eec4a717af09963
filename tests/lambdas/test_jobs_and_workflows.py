"""Jobs and the workflow Lambda under moto: statuses always end terminal, failures keep what was there."""

from __future__ import annotations

import json

import pytest

from tailor import jobs
from tailor.errors import ResourceInUseException
from tailor.handlers.workflows import lambda_handler as workflow_handler
from tailor.local.embedded import LambdaContext
from tailor.operations import dataset_groups, datasets, import_jobs, schemas
from tests.samples import INTERACTIONS_SCHEMA, interactions_csv


def new_import(svc, dataset, name="j", location="s3://artifacts/in.csv"):
    return import_jobs.create_dataset_import_job(
        svc, {"jobName": name, "datasetArn": dataset, "dataSource": {"dataLocation": location}})["datasetImportJobArn"]


def test_create_launches_and_stays_pending_until_the_workflow_runs(svc, launcher):
    arn = dataset_groups.create_dataset_group(svc, {"name": "g"})["datasetGroupArn"]
    assert launcher.launched == [("activate", arn)]
    assert svc.store.get(arn).status == "CREATE PENDING"
    launcher.run_all(svc)
    assert svc.store.get(arn).status == "ACTIVE"


def test_delete_goes_delete_pending_then_in_progress_then_gone(svc, launcher, dataset, monkeypatch):
    datasets.delete_dataset(svc, {"datasetArn": dataset})
    assert svc.store.get(dataset).status == "DELETE PENDING"
    seen = []
    real_remove = jobs._remove
    monkeypatch.setattr(jobs, "_remove", lambda s, r: (seen.append(s.store.get(r.arn).status), real_remove(s, r)))
    launcher.run_all(svc)
    assert seen == ["DELETE IN_PROGRESS"]
    assert svc.store.get(dataset) is None


def test_dataset_in_a_group_being_deleted_is_in_use(svc, launcher):
    group = dataset_groups.create_dataset_group(svc, {"name": "g"})["datasetGroupArn"]
    launcher.run_all(svc)
    schema = schemas.create_schema(svc, {"name": "s", "schema": INTERACTIONS_SCHEMA})["schemaArn"]
    dataset_groups.delete_dataset_group(svc, {"datasetGroupArn": group})
    with pytest.raises(ResourceInUseException):
        datasets.create_dataset(svc, {"name": "d", "schemaArn": schema, "datasetGroupArn": group,
                                      "datasetType": "INTERACTIONS"})


def test_dataset_with_pending_import_cannot_be_deleted(svc, launcher, dataset):
    new_import(svc, dataset)
    with pytest.raises(ResourceInUseException):
        datasets.delete_dataset(svc, {"datasetArn": dataset})


def test_workflow_catch_path_marks_failed_with_the_cause(svc, launcher, dataset):
    job = new_import(svc, dataset)
    launcher.launched.clear()
    cause = {"Error": "States.Timeout", "Cause": json.dumps({"errorType": "Sandbox.Timedout",
                                                             "errorMessage": "Task timed out after 900 s"})}
    workflow_handler({"job": "fail", "arn": job, "cause": cause}, LambdaContext(aws_request_id="r"))
    described = svc.store.get(job).doc
    assert described["status"] == "CREATE FAILED"
    assert described["failureReason"] == "Sandbox.Timedout: Task timed out after 900 s"


ECS_TASK_STOPPED = {  # the shape of ecs:runTask.sync's Cause: the stopped task's description (abridged)
    "StopCode": "EssentialContainerExited",
    "StoppedReason": "Essential container in task exited",
    "Containers": [{"Name": "job", "ExitCode": 137, "LastStatus": "STOPPED",
                    "Reason": "OutOfMemoryError: Container killed due to memory usage"}],
}


@pytest.mark.parametrize(("cause", "expected"), [
    ({"Error": "States.TaskFailed", "Cause": json.dumps(ECS_TASK_STOPPED)},
     "The job's Fargate task stopped: Essential container in task exited; container job: exit code 137 "
     "(OutOfMemoryError: Container killed due to memory usage). It ran out of memory: raise trainingMemoryMb "
     "(and trainingCpu) in cdk.json and redeploy."),
    ({"Error": "States.TaskFailed", "Cause": json.dumps({"StoppedReason": "Task stopped by user", "Containers": [
        {"Name": "job", "ExitCode": 1}]})},
     "The job's Fargate task stopped: Task stopped by user; container job: exit code 1."),
    ({"Error": "States.Timeout", "Cause": ""},
     "The job ran longer than the deployment allows (jobTimeoutHours in cdk.json) and was stopped."),
])
def test_catch_path_explains_a_stopped_fargate_task(svc, launcher, dataset, cause, expected):
    # Given an import the state machine ran on Fargate, whose task stopped without recording anything itself
    job = new_import(svc, dataset)
    workflow_handler({"job": "fail", "arn": job, "cause": cause}, LambdaContext(aws_request_id="r"))
    # Then the job's failureReason says what happened and what to change
    described = svc.store.get(job).doc
    assert (described["status"], described["failureReason"]) == ("CREATE FAILED", expected)


def test_workflow_runs_jobs_and_raises_for_the_catch(svc, launcher, dataset, aws):
    aws.client("s3").put_object(Bucket="artifacts", Key="in.csv", Body=interactions_csv(2, 2).encode())
    job = new_import(svc, dataset)
    launcher.launched.clear()
    workflow_handler({"job": "import", "arn": job}, LambdaContext(aws_request_id="r"))
    assert svc.store.get(job).status == "ACTIVE"
    with pytest.raises(ValueError):
        workflow_handler({"job": "teleport", "arn": job}, LambdaContext(aws_request_id="r"))


def test_unexpected_error_mid_import_ends_create_failed_and_keeps_data(svc, launcher, dataset, aws, monkeypatch):
    aws.client("s3").put_object(Bucket="artifacts", Key="in.csv", Body=interactions_csv(2, 2).encode())
    new_import(svc, dataset, "first")
    launcher.run_all(svc)
    before = svc.store.get(dataset).internal["snapshot"]
    second = new_import(svc, dataset, "second")
    launcher.launched.clear()

    def broken_write(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(jobs, "write_snapshot", broken_write)
    jobs.run_and_record(svc, "import", second)
    failed = svc.store.get(second).doc
    assert failed["status"] == "CREATE FAILED" and "disk on fire" in failed["failureReason"]
    assert svc.store.get(dataset).internal["snapshot"] == before


def test_sfn_launcher_starts_an_execution(aws):
    from tailor.adapters.launchers import StepFunctionsLauncher

    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="jobs", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    StepFunctionsLauncher(sfn, machine).launch("import", "arn:aws:personalize:us-east-1:1:dataset-import-job/j")
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1
    assert json.loads(sfn.describe_execution(executionArn=executions[0]["executionArn"])["input"]) == {
        "job": "import", "arn": "arn:aws:personalize:us-east-1:1:dataset-import-job/j"}


def test_workflow_function_builds_without_a_state_machine(aws):
    from tailor import config
    from tailor.adapters.env import build_service
    from tests.lambdas.conftest import ENV

    env = {k: v for k, v in ENV.items() if k != config.ENV_STATE_MACHINE_ARN}
    service = build_service(env, session=aws)
    with pytest.raises(RuntimeError, match="cannot start jobs"):
        service.launcher.launch("import", "arn")
