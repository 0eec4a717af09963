"""What broke only when deployed, each seen through the deployed topology (issue 14): a model bigger than a Lambda's
/tmp, the SDK the functions load, where data deletion runs, ECS's transient errors, data locations encrypted with a
customer-managed KMS key; and that the tier follows the template (remove a grant or a volume and a story fails).
Jobs starting jobs and the job task's /tmp are the stories of test_training.py, test_batch.py and test_stories.py."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import boto3
import botocore

from infra import bundling, constants
from tests.contract.conftest import POPULARITY, USER_PERSONALIZATION, import_and_wait, make_solution, train
from tests.contract.test_auto_training import DAY
from tests.deployed.conftest import KMS_BUCKET, DeployedFixture, loaded_group
from tests.deployed.harness import DeployedTailor
from tests.samples import interactions_csv

LAMBDA_TMP_MB = 512  # a function's /tmp unless its EphemeralStorage says more


def test_the_functions_load_the_service_models_these_tests_run() -> None:
    """The layer ships the locked SDK: routing and validation use the same botocore models as every test here."""
    pins = bundling.locked_requirements()
    assert f"botocore=={botocore.__version__}" in pins
    assert f"boto3=={boto3.__version__}" in pins


def test_the_runtime_loads_models_without_a_copy_in_its_tmp(personalize: Any, tailor: DeployedFixture,
                                                             trained_group: str) -> None:
    """The runtime function has Lambda's 512 MB of /tmp (a tmpfs of that size here): a model copied there first could
    not pass ~11,000 items. It reads the artifact from S3 where it lies instead, whatever its size."""
    # Given a campaign on a trained version
    solution = make_solution(personalize, tailor, trained_group, name="served", recipe=USER_PERSONALIZATION)
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    campaign = personalize.create_campaign(name="served", solutionVersionArn=version["solutionVersionArn"])[
        "campaignArn"]
    tailor.wait()
    runtime_function = tailor.deployed.function(constants.RUNTIME_HANDLER)
    assert runtime_function.spec.tmp_mb == LAMBDA_TMP_MB

    # When the runtime loads the model to answer
    items = tailor.client("personalize-runtime").get_recommendations(campaignArn=campaign, userId="u1")["itemList"]

    # Then it answered without making a single file in its /tmp
    assert items
    assert runtime_function.temp_files == 0


def test_data_deletion_runs_as_the_fargate_task(personalize: Any, tailor: DeployedFixture, s3: Any,
                                               trained_group: str) -> None:
    """Deletion rewrites whole snapshots: it runs where imports run, not in the 15-minute workflow Lambda."""
    s3.put_object(Bucket="user-data", Key="forget.csv", Body=b"USER_ID\nu1\nu2\n")
    arn = personalize.create_data_deletion_job(
        jobName="forget", datasetGroupArn=trained_group, roleArn="arn:aws:iam::123456789012:role/Personalize",
        dataSource={"dataLocation": "s3://user-data/forget.csv"})["dataDeletionJobArn"]
    tailor.wait()
    job = personalize.describe_data_deletion_job(dataDeletionJobArn=arn)["dataDeletionJob"]
    assert job["status"] == "COMPLETED", job.get("failureReason")
    assert job["numDeleted"] == 40  # 20 events each
    assert [run.job for run in tailor.deployed.task_runs if run.job == "delete-data"] == ["delete-data"]
    assert tailor.deployed.denied == []


def test_a_transient_ecs_error_is_retried_and_the_job_runs(personalize: Any, tailor: DeployedFixture, s3: Any,
                                                            group: str, make_dataset: Callable[[str], str]) -> None:
    # Given ECS answers RunTask with "no capacity" twice
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=interactions_csv(n_users=5, per_user=3).encode())
    tailor.deployed.ecs_failures[:] = ["ECS.AmazonECSException", "ECS.AmazonECSException"]

    # When an import is started, then it runs once the state machine retried
    job = import_and_wait(personalize, tailor, dataset, "s3://user-data/i.csv", "retried")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert len(tailor.deployed.retry_delays) == 2 and tailor.deployed.retry_delays[1] > tailor.deployed.retry_delays[0]
    assert [run.job for run in tailor.deployed.task_runs] == ["import"]


def test_an_ecs_error_that_is_not_transient_fails_the_job_with_the_reason(
        personalize: Any, tailor: DeployedFixture, s3: Any, group: str, make_dataset: Callable[[str], str]) -> None:
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=interactions_csv(n_users=5, per_user=3).encode())
    tailor.deployed.ecs_failures[:] = ["ECS.InvalidParameterException"]
    job = import_and_wait(personalize, tailor, dataset, "s3://user-data/i.csv", "refused")
    assert job["status"] == "CREATE FAILED"
    assert "RunTask could not start the task" in job["failureReason"]
    assert tailor.deployed.retry_delays == [] and tailor.deployed.task_runs == []


def test_a_data_location_encrypted_with_a_customer_managed_key(personalize: Any, tailor: DeployedFixture,
                                                               group: str, make_dataset: Callable[[str], str]) -> None:
    """cdk.json names the bucket's KMS key with its location; the job roles may use that key for it."""
    s3 = tailor.client("s3")
    s3.create_bucket(Bucket=KMS_BUCKET)
    s3.put_object(Bucket=KMS_BUCKET, Key="in/i.csv", Body=interactions_csv(n_users=60, per_user=20).encode())
    dataset = make_dataset("INTERACTIONS")
    job = import_and_wait(personalize, tailor, dataset, f"s3://{KMS_BUCKET}/in/i.csv", "encrypted")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    export = personalize.create_dataset_export_job(
        jobName="back", datasetArn=dataset, roleArn="arn:aws:iam::123456789012:role/Personalize",
        jobOutput={"s3DataDestination": {"path": f"s3://{KMS_BUCKET}/out/"}})["datasetExportJobArn"]
    tailor.wait()
    assert personalize.describe_dataset_export_job(datasetExportJobArn=export)["datasetExportJob"]["status"] == \
        "ACTIVE"
    assert s3.list_objects_v2(Bucket=KMS_BUCKET, Prefix="out/")["KeyCount"] >= 1
    assert tailor.deployed.denied == []


# ---- the tier follows the template ----

def _without_statement(template: dict[str, Any], handler: str, action: str) -> dict[str, Any]:
    """A copy of the template whose function running `handler` lost every statement granting `action`."""
    changed = copy.deepcopy(template)
    resources = changed["Resources"]
    (role_id,) = [r["Properties"]["Role"]["Fn::GetAtt"][0] for r in resources.values()
                  if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == handler]
    removed = 0
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in resource["Properties"]["Roles"]:
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            kept = [s for s in statements if action not in (s["Action"] if isinstance(s["Action"], list)
                                                           else [s["Action"]])]
            removed += len(statements) - len(kept)
            resource["Properties"]["PolicyDocument"]["Statement"] = kept
    assert removed, f"no statement grants {action} to {handler}"
    return changed


def test_without_start_execution_the_schedules_versions_never_train(
        deploy: Callable[..., DeployedTailor], deployed_template: dict[str, Any]) -> None:
    tier = deploy(_without_statement(deployed_template, constants.WORKFLOW_HANDLER, "states:StartExecution"))
    tailor = DeployedFixture(tier)
    personalize, group, job = loaded_group(tailor, n_users=60, per_user=20)
    assert job["status"] == "ACTIVE", job.get("failureReason")
    make_solution(personalize, tailor, group, name="auto", recipe=POPULARITY)

    [version] = tailor.run_automatic_training(after_seconds=7 * DAY)
    assert personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"] != "ACTIVE"
    assert any("states:StartExecution" in line for line in tier.denied)


def test_without_the_tmp_volume_the_job_task_cannot_spool(
        deploy: Callable[..., DeployedTailor], deployed_template: dict[str, Any]) -> None:
    changed = copy.deepcopy(deployed_template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::ECS::TaskDefinition":
            resource["Properties"]["Volumes"] = []
            for container in resource["Properties"]["ContainerDefinitions"]:
                container["MountPoints"] = []
    tailor = DeployedFixture(deploy(changed))
    personalize, group, job = loaded_group(tailor, n_users=60, per_user=20)  # imports spool nothing; training does
    assert job["status"] == "ACTIVE", job.get("failureReason")
    version = train(personalize, tailor, make_solution(personalize, tailor, group, name="p", recipe=POPULARITY))
    assert version["status"] == "CREATE FAILED"
    assert "No usable temporary directory" in version["failureReason"], version["failureReason"]


def test_each_function_has_the_tmp_its_template_gives_it(deployed: DeployedTailor) -> None:
    """A write past a function's ephemeral storage fails as in Lambda: its /tmp is a filesystem of exactly that size."""
    sizes = {}
    for function in deployed.functions.values():
        stats = os.statvfs(function.tmp)
        sizes[function.spec.handler] = stats.f_blocks * stats.f_frsize // (1 << 20)
    assert sizes == {function.spec.handler: function.spec.tmp_mb for function in deployed.functions.values()}
    assert sizes[constants.RUNTIME_HANDLER] == LAMBDA_TMP_MB and sizes[constants.WORKFLOW_HANDLER] == 4096
