"""Training in the deployed topology: versions train on the Fargate task, the hourly schedule's sweep (workflow
Lambda) starts versions that are due, and campaigns following `$LATEST` move to each new version (a job started by
the task). Both need the jobs that run jobs to hold the state machine's ARN and states:StartExecution."""

from __future__ import annotations

from tests.contract.test_auto_training import (
    test_a_campaign_follows_the_latest_version_without_a_gap,
    test_solutions_train_themselves_on_their_schedule,
)

__all__ = ["test_a_campaign_follows_the_latest_version_without_a_gap",
           "test_solutions_train_themselves_on_their_schedule"]
