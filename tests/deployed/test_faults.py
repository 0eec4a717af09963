"""Faults where they happen in a deployment: a job task that crashes, one stopped for running too long, a file that
is gone when the task reads it. Each ends in a status with a reason a person can act on, never stuck, and what was
serving before keeps serving."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.contract.conftest import POPULARITY, import_and_wait, make_solution, train
from tests.deployed.conftest import DeployedFixture, loaded_group
from tests.deployed.harness import DeployedTailor


def test_a_training_task_that_crashes_fails_the_version_and_the_campaign_keeps_serving(
        personalize: Any, tailor: DeployedFixture, trained_group: str) -> None:
    # Given a campaign on a trained version
    solution = make_solution(personalize, tailor, trained_group, name="sol", recipe=POPULARITY)
    first = train(personalize, tailor, solution)
    campaign = personalize.create_campaign(name="c", solutionVersionArn=first["solutionVersionArn"])["campaignArn"]
    tailor.wait()
    runtime = tailor.client("personalize-runtime")
    before = runtime.get_recommendations(campaignArn=campaign, userId="u1")["itemList"]

    # When the next training's task crashes (the dataset's snapshot in S3 is not a snapshot any more)
    service = tailor.deployed.service
    dataset = next(r for r in personalize.list_datasets(datasetGroupArn=trained_group)["datasets"])
    service.blobs.put(service.store.get(dataset["datasetArn"]).internal["snapshot"], b"not an npz")
    second = train(personalize, tailor, solution)

    # Then the version failed with the reason the task recorded, the task exited 1, and the campaign still serves
    assert second["status"] == "CREATE FAILED"
    assert second["failureReason"].startswith("Internal error during train"), second["failureReason"]
    assert [run.exit_code for run in tailor.deployed.task_runs if run.job == "train"] == [0, 1]
    assert runtime.get_recommendations(campaignArn=campaign, userId="u1")["itemList"] == before


def _with_task_timeout(template: dict[str, Any], seconds: int) -> dict[str, Any]:
    """The template with the container task state's TimeoutSeconds changed (as jobTimeoutHours would)."""
    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            parts = resource["Properties"]["DefinitionString"]["Fn::Join"][1]
            for index, part in enumerate(parts):
                if isinstance(part, str) and '"TimeoutSeconds":' in part:
                    head, _, tail = part.partition('"TimeoutSeconds":')
                    digits = len(tail) - len(tail.lstrip("0123456789"))
                    parts[index] = f'{head}"TimeoutSeconds":{seconds}{tail[digits:]}'
                    return changed
    raise AssertionError("no task state has a TimeoutSeconds")


def test_a_task_stopped_past_its_timeout_fails_the_job_with_the_cause(
        deploy: Callable[..., DeployedTailor], deployed_template: dict[str, Any]) -> None:
    tier = deploy(_with_task_timeout(deployed_template, 1))
    _, _, job = loaded_group(DeployedFixture(tier), n_users=20_000, per_user=50)  # an import of ~1M rows
    assert job["status"] == "CREATE FAILED"
    assert "jobTimeoutHours" in job["failureReason"], job["failureReason"]
    [run] = tier.task_runs
    assert run.timed_out
    [execution] = [e for e in tier.executions if e.input.get("job") == "import"]
    assert execution.outcome is not None and execution.outcome.status == "FAILED"
    assert execution.outcome.error == "States.Timeout"
    assert "RecordFailure entered" in execution.outcome.history


def test_an_import_whose_file_is_gone_fails_naming_it(personalize: Any, tailor: DeployedFixture, s3: Any,
                                                      group: str, make_dataset: Callable[[str], str]) -> None:
    dataset = make_dataset("INTERACTIONS")
    job = import_and_wait(personalize, tailor, dataset, "s3://user-data/not-there.csv", "gone")
    assert job["status"] == "CREATE FAILED"
    assert "s3://user-data/not-there.csv" in job["failureReason"], job["failureReason"]
    # the task ran and recorded the reason itself: the job ended normally
    assert [(run.job, run.exit_code) for run in tailor.deployed.task_runs] == [("import", 0)]
    assert json.dumps(tailor.deployed.denied) == "[]"
