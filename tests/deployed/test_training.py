"""Training in the deployed topology: versions train on the Fargate task, the hourly schedule's sweep (workflow
Lambda) starts versions that are due, and campaigns following `$LATEST` move to each new version (a job started by
the task). Both need the jobs that run jobs to hold the state machine's ARN and states:StartExecution."""

from __future__ import annotations

from tests.contract.conftest import POPULARITY
from tests.contract.test_auto_training import (
    test_a_campaign_follows_the_latest_version_without_a_gap,
    test_solutions_train_themselves_on_their_schedule,
)

__all__ = ["test_a_campaign_follows_the_latest_version_without_a_gap",
           "test_solutions_train_themselves_on_their_schedule"]  # run here as in tests/contract


def test_a_version_created_right_after_its_solution_trains(personalize, tailor, trained_group):
    """As AWS's notebooks call them: deployed, the solution's activation job is an execution away (seconds), and the
    version must not be refused meanwhile."""
    solution = personalize.create_solution(name="at-once", datasetGroupArn=trained_group,
                                           recipeArn=POPULARITY)["solutionArn"]
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    tailor.wait()
    described = personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert described["status"] == "ACTIVE", described.get("failureReason")
    assert personalize.describe_solution(solutionArn=solution)["solution"]["status"] == "ACTIVE"
    assert tailor.deployed.denied == []
